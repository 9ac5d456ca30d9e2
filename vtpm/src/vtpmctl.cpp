// vtpmctl: the vTPM manager's command line (a thin view over vtpm_managerd's
// JSON-RPC methods, manager.hpp). $SHYPE_ROOT locates the manager.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <exception>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

#include "acm/file_io.hpp"
#include "rpc/json_rpc.hpp"
#include "vtpm/attest.hpp"
#include "vtpm/deepquote.hpp"
#include "vtpm/layout.hpp"
#include "vtpm/migration.hpp"

namespace {

using shype::rpc::Json;

int usage(int status) {
  std::fprintf(status == 0 ? stdout : stderr,
               "usage: vtpmctl [--json] <command> [arguments]\n"
               "  create <domain-name> [--uuid UUID] [--instance N] [--label ACM:POLICY:LABEL]\n"
               "         [--pcr-banks sha1,sha256]\n"
               "                         bind a vTPM instance to a domain (a requested number\n"
               "                         that is taken falls through to the lowest free one),\n"
               "                         give it the domain's label; its TPM gets the PCR banks\n"
               "                         given (default sha256)\n"
               "  list                   every instance: number, domain, status, TCTI\n"
               "  start <instance>       start the instance from its saved state\n"
               "  stop <instance>        save the instance and stop its worker\n"
               "  save <instance>        save the running instance's state now\n"
               "  delete <instance>      stop the instance and delete it with its state\n"
               "  tcti <instance>        print the tpm2-tss TCTI string (tpm2-tools -T)\n"
               "  attach <instance> <domid>\n"
               "                         hand the running instance to a domain (label check)\n"
               "  detach <instance>      take it back from its domain\n"
               "  label <instance> <ACM:POLICY:LABEL | none>\n"
               "                         relabel a detached instance\n"
               "  ek-cert <instance> [--pem|--der]\n"
               "                         print the instance's EK certificate (PEM by default)\n"
               "  ca-cert                print the manager's CA certificate (pin it to check EK\n"
               "                         certificates: the platform credential)\n"
               "  platform-ak            print the platform TPM's attestation key (PEM; pin it)\n"
               "  deepquote <instance> --nonce HEX [--pcrs LIST] [--platform-pcrs LIST] [-o FILE]\n"
               "                         a platform TPM quote binding the instance's EK, UUID and\n"
               "                         vTPM PCRs (LIST: 0,1,2 or 0-7) to the nonce (JSON)\n"
               "  verify FILE --nonce HEX --ak AK.pem [--ca CA.pem]\n"
               "                         check a deep quote without the manager; exit 0 only if\n"
               "                         every check passes\n"
               "migration (through vtpm_migratord):\n"
               "  migrate <instance> HOST:PORT\n"
               "                         move the instance to the manager behind the peer\n"
               "                         vtpm_migratord at HOST:PORT; deleted here once it\n"
               "                         is stored there\n"
               "  migration-identity     print this host's migration certificate (PEM)\n"
               "  migration-info         the peer port, certificate fingerprint, trusted peers\n"
               "  trust-peer FILE.pem    trust the peer whose certificate is FILE.pem\n"
               "recovering an interrupted migration (docs/vtpm.md):\n"
               "  export-abort <instance>   keep a migrating instance here (restarted if it ran)\n"
               "  export-commit <instance>  delete a migrating instance here (the peer has it)\n"
               "  import-commit <instance>  make an incoming instance startable\n"
               "  import-abort <instance>   delete an incoming instance\n"
               "<instance> is an instance number, a domain name or a domain uuid.\n"
               "--json prints the manager's answer as JSON.\n");
  return status;
}

void print_instance(const Json& i) {
  const std::string domid =
      i.contains("domid") && i["domid"].is_number() ? std::to_string(i["domid"].get<int>()) : "-";
  const std::string label = i.value("label", std::string());
  std::printf("%-4s %-20s %-36s %-8s %-5s %-24s %s\n",
              std::to_string(i.value("instance", 0)).c_str(),
              i.value("name", std::string()).c_str(), i.value("uuid", std::string()).c_str(),
              i.value("status", std::string()).c_str(), domid.c_str(),
              label.empty() ? "-" : label.c_str(), i.value("tcti", std::string()).c_str());
}

// Reads option values "--name VALUE" from args[first..]; unknown options are
// an error. Returns false (after a message) on a bad command line.
bool read_options(const std::vector<std::string_view>& args, std::size_t first,
                  const std::vector<std::string_view>& names,
                  std::vector<std::pair<std::string_view, std::string>>& out) {
  // Options come in pairs: name, value.
  for (std::size_t i = first; i < args.size(); i += 2) {
    const bool known = std::find(names.begin(), names.end(), args[i]) != names.end();
    if (!known || i + 1 >= args.size()) {
      std::fprintf(stderr, "vtpmctl: unknown or incomplete option '%s'\n",
                   std::string(args[i]).c_str());
      return false;
    }
    out.emplace_back(args[i], std::string(args[i + 1]));
  }
  return true;
}

std::string option(const std::vector<std::pair<std::string_view, std::string>>& options,
                   std::string_view name) {
  for (const auto& [n, v] : options)
    if (n == name) return v;
  return {};
}

// vtpmctl verify: no manager involved (deepquote.hpp).
int verify_command(const std::vector<std::string_view>& args, bool json) {
  std::vector<std::pair<std::string_view, std::string>> options;
  if (args.size() < 2 || !read_options(args, 2, {"--nonce", "--ak", "--ca"}, options)) return usage(2);
  const std::string nonce_hex = option(options, "--nonce");
  const std::string ak_file = option(options, "--ak");
  const std::string ca_file = option(options, "--ca");
  if (nonce_hex.empty() || ak_file.empty()) {
    std::fprintf(stderr, "vtpmctl: verify needs --nonce HEX and --ak AK.pem\n");
    return 2;
  }
  auto nonce = shype::vtpm::from_hex(nonce_hex);
  if (!nonce || nonce->empty()) {
    std::fprintf(stderr, "vtpmctl: --nonce '%s' is not hex\n", nonce_hex.c_str());
    return 2;
  }
  auto text = shype::acm::read_text_file(std::string(args[1]));
  if (!text) {
    std::fprintf(stderr, "vtpmctl: %s\n", text.error().to_string().c_str());
    return 1;
  }
  auto ak = shype::acm::read_text_file(ak_file);
  if (!ak) {
    std::fprintf(stderr, "vtpmctl: %s\n", ak.error().to_string().c_str());
    return 1;
  }
  std::string ca;
  if (!ca_file.empty()) {
    auto ca_text = shype::acm::read_text_file(ca_file);
    if (!ca_text) {
      std::fprintf(stderr, "vtpmctl: %s\n", ca_text.error().to_string().c_str());
      return 1;
    }
    ca = std::move(*ca_text);
  }
  auto quote = shype::vtpm::parse_deep_quote(*text);
  if (!quote) {
    if (json) {
      std::printf("%s\n", Json{{"ok", false}, {"error", quote.error().message}}.dump(2).c_str());
    }
    std::fprintf(stderr, "vtpmctl: %s: %s\n", std::string(args[1]).c_str(),
                 quote.error().message.c_str());
    return 1;
  }
  const auto verdict = shype::vtpm::verify_deep_quote(*quote, *nonce, *ak, ca);
  if (json) {
    Json out = verdict.to_json();
    out["instance"] = quote->instance;
    out["uuid"] = quote->uuid;
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    for (const auto& c : verdict.checks)
      std::printf("%-4s %-22s %s\n", c.ok ? "ok" : "FAIL", c.name.c_str(), c.detail.c_str());
    if (ca.empty()) std::printf("note: no --ca given, the EK certificate's chain was not checked\n");
    std::printf("%s: deep quote of vTPM %s (instance %u)\n", verdict.ok ? "VERIFIED" : "NOT VERIFIED",
                quote->uuid.c_str(), quote->instance);
  }
  if (!verdict.ok) {
    for (const auto& c : verdict.checks)
      if (!c.ok) std::fprintf(stderr, "vtpmctl: verify: %s failed: %s\n", c.name.c_str(), c.detail.c_str());
  }
  return verdict.ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::vector<std::string_view> args(argv + 1, argv + argc);
    bool json = false;
    std::erase_if(args, [&](std::string_view a) {
      if (a == "--json") json = true;
      return a == "--json";
    });
    if (args.empty()) return usage(2);
    const std::string_view command = args[0];
    if (command == "--help" || command == "-h" || command == "help") return usage(0);

    std::string method;
    Json params = Json::object();
    bool to_migratord = false;
    if (command == "create") {
      if (args.size() < 2) {
        std::fprintf(stderr, "vtpmctl: create needs a domain name\n");
        return usage(2);
      }
      params["name"] = std::string(args[1]);
      for (std::size_t i = 2; i < args.size(); ++i) {
        if ((args[i] == "--uuid" || args[i] == "--instance" || args[i] == "--label" ||
             args[i] == "--pcr-banks") &&
            i + 1 < args.size()) {
          if (args[i] == "--label") {
            params["label"] = std::string(args[i + 1]);
          } else if (args[i] == "--uuid") {
            params["uuid"] = std::string(args[i + 1]);
          } else if (args[i] == "--pcr-banks") {
            params["pcr_banks"] = std::string(args[i + 1]);
          } else {
            const std::string text(args[i + 1]);
            char* end = nullptr;
            const long long n = std::strtoll(text.c_str(), &end, 10);
            if (text.empty() || end == nullptr || *end != '\0') {
              std::fprintf(stderr, "vtpmctl: --instance '%s' is not a number\n", text.c_str());
              return 2;
            }
            params["instance"] = n;
          }
          ++i;
        } else {
          std::fprintf(stderr, "vtpmctl: unknown or incomplete option '%s'\n",
                       std::string(args[i]).c_str());
          return usage(2);
        }
      }
      method = "vtpm.create";
    } else if (command == "list") {
      method = "vtpm.list";
    } else if (command == "verify") {
      return verify_command(args, json);
    } else if (command == "ca-cert" || command == "platform-ak") {
      if (args.size() != 1) return usage(2);
      method = command == "ca-cert" ? "vtpm.ca_cert" : "vtpm.platform_ak";
    } else if (command == "ek-cert") {
      if (args.size() < 2 || args.size() > 3 ||
          (args.size() == 3 && args[2] != "--der" && args[2] != "--pem")) {
        std::fprintf(stderr, "vtpmctl: ek-cert needs one instance and optionally --pem or --der\n");
        return usage(2);
      }
      params["ref"] = std::string(args[1]);
      method = "vtpm.ek_cert";
    } else if (command == "deepquote") {
      if (args.size() < 2) {
        std::fprintf(stderr, "vtpmctl: deepquote needs an instance\n");
        return usage(2);
      }
      std::vector<std::pair<std::string_view, std::string>> options;
      if (!read_options(args, 2, {"--nonce", "--pcrs", "--platform-pcrs", "-o"}, options)) return usage(2);
      if (option(options, "--nonce").empty()) {
        std::fprintf(stderr, "vtpmctl: deepquote needs --nonce HEX (the verifier's nonce)\n");
        return 2;
      }
      params["ref"] = std::string(args[1]);
      params["nonce"] = option(options, "--nonce");
      if (!option(options, "--pcrs").empty()) params["pcrs"] = option(options, "--pcrs");
      if (!option(options, "--platform-pcrs").empty()) params["platform_pcrs"] = option(options, "--platform-pcrs");
      method = "vtpm.deepquote";
    } else if (command == "migrate") {
      if (args.size() != 3) {
        std::fprintf(stderr, "vtpmctl: migrate needs an instance and HOST:PORT\n");
        return usage(2);
      }
      params["ref"] = std::string(args[1]);
      params["peer"] = std::string(args[2]);
      method = "migration.send";
      to_migratord = true;
    } else if (command == "migration-identity" || command == "migration-info") {
      method = command == "migration-info" ? "migration.info" : "migration.identity";
      to_migratord = true;
    } else if (command == "trust-peer") {
      if (args.size() != 2) {
        std::fprintf(stderr, "vtpmctl: trust-peer needs a PEM certificate file\n");
        return usage(2);
      }
      auto pem = shype::acm::read_text_file(std::string(args[1]));
      if (!pem) {
        std::fprintf(stderr, "vtpmctl: %s\n", pem.error().to_string().c_str());
        return 1;
      }
      params["certificate"] = *pem;
      method = "migration.trust_peer";
      to_migratord = true;
    } else if (command == "export-abort" || command == "export-commit" ||
               command == "import-abort" || command == "import-commit") {
      if (args.size() != 2) {
        std::fprintf(stderr, "vtpmctl: %s needs exactly one instance\n",
                     std::string(command).c_str());
        return usage(2);
      }
      params["ref"] = std::string(args[1]);
      method = "vtpm." + std::string(command);
      method[method.find('-')] = '_';
    } else if (command == "start" || command == "stop" || command == "save" ||
               command == "delete" || command == "tcti") {
      if (args.size() != 2) {
        std::fprintf(stderr, "vtpmctl: %s needs exactly one instance\n",
                     std::string(command).c_str());
        return usage(2);
      }
      params["ref"] = std::string(args[1]);
      method = "vtpm." + std::string(command);
    } else if (command == "attach" || command == "label") {
      if (args.size() != 3) {
        std::fprintf(stderr, "vtpmctl: %s needs an instance and %s\n",
                     std::string(command).c_str(),
                     command == "attach" ? "a domain id" : "a label (or none)");
        return usage(2);
      }
      params["ref"] = std::string(args[1]);
      if (command == "attach") {
        const std::string text(args[2]);
        char* end = nullptr;
        const long long domid = std::strtoll(text.c_str(), &end, 10);
        if (text.empty() || end == nullptr || *end != '\0') {
          std::fprintf(stderr, "vtpmctl: domain id '%s' is not a number\n", text.c_str());
          return 2;
        }
        params["domid"] = domid;
      } else {
        params["label"] = args[2] == "none" ? std::string() : std::string(args[2]);
      }
      method = "vtpm." + std::string(command);
    } else if (command == "detach") {
      if (args.size() != 2) {
        std::fprintf(stderr, "vtpmctl: detach needs exactly one instance\n");
        return usage(2);
      }
      params["ref"] = std::string(args[1]);
      method = "vtpm.detach";
    } else {
      std::fprintf(stderr, "vtpmctl: unknown command '%s'\n", std::string(command).c_str());
      return usage(2);
    }

    const shype::vtpm::Layout layout(shype::vtpm::root_from_environment());
    const auto socket = to_migratord ? shype::vtpm::MigrationPaths(layout).socket : layout.socket;
    auto client = shype::rpc::Client::connect(socket, std::chrono::milliseconds(10'000));
    if (!client) {
      const std::string message = std::string(to_migratord ? "vtpm_migratord" : "vtpm_managerd") +
                                  " is not running (no answer on " + socket.string() + ")";
      if (json) {
        std::printf(
            "%s\n",
            Json{{"error", {{"code", client.error().code}, {"message", message}}}}.dump().c_str());
      }
      std::fprintf(stderr, "vtpmctl: %s\n", message.c_str());
      return 1;
    }
    // A migration waits for the peer (15 s per step) and both managers.
    client->set_timeout(std::chrono::milliseconds(to_migratord ? 120'000 : 30'000));
    auto answer = client->call(method, params);
    if (!answer) {
      if (json) {
        std::printf(
            "%s\n",
            Json{{"error", {{"code", answer.error().code}, {"message", answer.error().message}}}}
                .dump()
                .c_str());
      }
      std::fprintf(stderr, "vtpmctl: %s\n", answer.error().message.c_str());
      return 1;
    }
    if (command == "deepquote") {
      std::vector<std::pair<std::string_view, std::string>> options;
      (void)read_options(args, 2, {"--nonce", "--pcrs", "--platform-pcrs", "-o"}, options);
      const std::string file = option(options, "-o");
      const std::string text = answer->dump(2) + "\n";
      if (file.empty()) {
        std::fputs(text.c_str(), stdout);
      } else if (auto ok = shype::acm::write_file_atomic(file, text, 0644); !ok) {
        std::fprintf(stderr, "vtpmctl: %s\n", ok.error().to_string().c_str());
        return 1;
      }
      return 0;
    }
    if (json) {
      std::printf("%s\n", answer->dump(2).c_str());
      return 0;
    }
    if (command == "ek-cert" && args.size() == 3 && args[2] == "--der") {
      auto der = shype::vtpm::from_hex(answer->value("der", std::string()));
      if (!der || der->empty()) {
        std::fprintf(stderr, "vtpmctl: the manager sent no DER certificate\n");
        return 1;
      }
      return std::fwrite(der->data(), 1, der->size(), stdout) == der->size() ? 0 : 1;
    }
    if (command == "ek-cert" || command == "ca-cert" || command == "platform-ak") {
      std::fputs(answer->value("pem", std::string()).c_str(), stdout);
      return 0;
    }
    if (command == "tcti") {
      std::printf("%s\n", answer->value("tcti", std::string()).c_str());
    } else if (command == "migrate") {
      std::printf("migrated instance %s (%s) to %s, where it is instance %d\n",
                  std::string(args[1]).c_str(), answer->value("name", std::string()).c_str(),
                  answer->value("peer", std::string()).c_str(), answer->value("instance", 0));
    } else if (command == "migration-identity") {
      std::printf("%s", answer->value("certificate", std::string()).c_str());
    } else if (command == "migration-info") {
      std::printf("port %d, certificate sha256 %s, %d trusted peers\n", answer->value("port", 0),
                  answer->value("fingerprint", std::string()).c_str(), answer->value("peers", 0));
    } else if (command == "trust-peer") {
      std::printf("trusting %s (sha256 %s)\n", std::string(args[1]).c_str(),
                  answer->value("fingerprint", std::string()).c_str());
    } else if (command == "export-commit" || command == "import-abort") {
      std::printf("deleted instance %d (%s)\n", answer->value("instance", 0),
                  answer->value("name", std::string()).c_str());
    } else if (command == "list") {
      std::printf("%-4s %-20s %-36s %-8s %-5s %-24s %s\n", "inst", "domain", "uuid", "status",
                  "domid", "label", "tcti");
      for (const auto& i : (*answer)["instances"])
        print_instance(i);
    } else if (command == "delete") {
      std::printf("deleted instance %d (%s)\n", answer->value("instance", 0),
                  answer->value("name", std::string()).c_str());
    } else {
      if (command == "create" && answer->value("existing", false)) {
        std::printf("domain already bound: ");
      }
      print_instance(*answer);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vtpmctl: %s\n", e.what());
    return 1;
  }
}
