// vtpmctl: the vTPM manager's command line (a thin view over vtpm_managerd's
// JSON-RPC methods, manager.hpp). $SHYPE_ROOT locates the manager.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "acm/file_io.hpp"
#include "rpc/json_rpc.hpp"
#include "vtpm/layout.hpp"
#include "vtpm/migration.hpp"

namespace {

using shype::rpc::Json;

int usage(int status) {
  std::fprintf(status == 0 ? stdout : stderr,
               "usage: vtpmctl [--json] <command> [arguments]\n"
               "  create <domain-name> [--uuid UUID] [--instance N]\n"
               "                         bind a vTPM instance to a domain (a requested number\n"
               "                         that is taken falls through to the lowest free one)\n"
               "  list                   every instance: number, domain, status, TCTI\n"
               "  start <instance>       start the instance from its saved state\n"
               "  stop <instance>        save the instance and stop its worker\n"
               "  save <instance>        save the running instance's state now\n"
               "  delete <instance>      stop the instance and delete it with its state\n"
               "  tcti <instance>        print the tpm2-tss TCTI string (tpm2-tools -T)\n"
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
  std::printf("%-4s %-20s %-36s %-8s %s\n", std::to_string(i.value("instance", 0)).c_str(),
              i.value("name", std::string()).c_str(), i.value("uuid", std::string()).c_str(),
              i.value("status", std::string()).c_str(), i.value("tcti", std::string()).c_str());
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
        if ((args[i] == "--uuid" || args[i] == "--instance") && i + 1 < args.size()) {
          if (args[i] == "--uuid") {
            params["uuid"] = std::string(args[i + 1]);
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
    if (json) {
      std::printf("%s\n", answer->dump(2).c_str());
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
      std::printf("%-4s %-20s %-36s %-8s %s\n", "inst", "domain", "uuid", "status", "tcti");
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
