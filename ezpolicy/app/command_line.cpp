#include "command_line.hpp"

#include <string_view>

namespace shype::ezpolicy::app {

const char* usage_text() {
  return R"(usage: xensec_ezpolicy [FILE.wld]
       xensec_ezpolicy --translate FILE.wld --policy NAME [-o OUT.xml] [--date TEXT]
       xensec_ezpolicy --help | --version

Edits workload definitions (organizations, departments and run-time
exclusion rules) and translates them into sHype/ACM XML security policies.

  FILE.wld                open the workload definition in the window
  --translate FILE.wld    translate without a window ("Save as Xen ACM
                          Security Policy")
  --policy NAME           the policy name (dotted: a.b.c)
  -o, --output OUT.xml    where to write the policy; default: the policy
                          directory, $SHYPE_ROOT/etc/xen/acm-security/policies/
                          a/b/c-security_policy.xml
  --date TEXT             the header's Date (default: the current time)
  --help                  this text
  --version               the version

exit status: 0 success, 1 error, 2 usage
)";
}

ParsedCommandLine parse_command_line(const std::vector<std::string>& args) {
  CommandLine command;
  auto usage = [](std::string message) {
    return ParsedCommandLine{std::nullopt, std::move(message)};
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    auto value = [&](std::optional<std::string>& slot) -> bool {
      if (i + 1 >= args.size() || slot) return false;
      slot = args[++i];
      return true;
    };
    if (arg == "--help" || arg == "-h") {
      command.mode = Mode::help;
      return {command, {}};
    }
    if (arg == "--version") {
      command.mode = Mode::version;
      return {command, {}};
    }
    if (arg == "--translate") {
      if (command.mode == Mode::translate || command.workload_file) {
        return usage("--translate takes one workload definition file");
      }
      command.mode = Mode::translate;
      if (!value(command.workload_file)) return usage("--translate needs a FILE.wld");
    } else if (arg == "--policy") {
      if (!value(command.policy_name)) return usage("--policy needs one NAME");
    } else if (arg == "-o" || arg == "--output") {
      if (!value(command.output)) return usage(std::string(arg) + " needs one OUT.xml");
    } else if (arg == "--date") {
      if (!value(command.date)) return usage("--date needs one TEXT");
    } else if (!arg.empty() && arg.front() == '-') {
      return usage("unknown option " + std::string(arg));
    } else if (!command.workload_file) {
      command.workload_file = std::string(arg);
    } else {
      return usage("unexpected argument " + std::string(arg));
    }
  }
  if (command.mode == Mode::translate && !command.policy_name) {
    return usage("--translate needs --policy NAME");
  }
  if (command.mode == Mode::window && (command.policy_name || command.output || command.date)) {
    return usage("--policy, --output and --date go with --translate");
  }
  return {command, {}};
}

}  // namespace shype::ezpolicy::app
