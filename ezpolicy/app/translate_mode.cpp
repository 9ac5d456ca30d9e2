// The headless mode: load a .wld file, translate it, write the policy.
#include <cstdio>
#include <filesystem>

#include "command_line.hpp"
#include "ezpolicy/translator.hpp"
#include "ezpolicy/wld_file.hpp"

namespace shype::ezpolicy::app {
namespace {

void print_warnings(const acm::Diagnostics& warnings) {
  for (const acm::Diagnostic& warning : warnings.items()) {
    std::fprintf(stderr, "xensec_ezpolicy: %s\n", warning.to_string().c_str());
  }
}

int fail(const acm::Error& error) {
  std::fprintf(stderr, "xensec_ezpolicy: %s\n", error.to_string().c_str());
  return kExitError;
}

}  // namespace

int run_translate(const CommandLine& command) {
  auto definition = load_wld_file(*command.workload_file);
  if (!definition) return fail(definition.error());
  auto translation = translate(*definition, *command.policy_name, command.date);
  if (!translation) return fail(translation.error());
  print_warnings(translation->warnings);
  const std::filesystem::path out =
      command.output ? std::filesystem::path(*command.output)
                     : policy_path(root_from_environment(), *command.policy_name);
  if (auto ok = write_policy_file(out, *translation); !ok) return fail(ok.error());
  std::printf("wrote policy '%s' (%zu workload types, %zu run-time exclusion rules) to %s\n",
              command.policy_name->c_str(), definition->workload_types().size(),
              translation->model.chwall->conflict_sets.size(), out.c_str());
  return kExitOk;
}

}  // namespace shype::ezpolicy::app
