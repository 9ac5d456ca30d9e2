// vtpmctl: the vTPM manager's command line (a thin view over vtpm_managerd's
// JSON-RPC methods, manager.hpp). $SHYPE_ROOT locates the manager.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "rpc/json_rpc.hpp"
#include "vtpm/layout.hpp"

namespace {

using shype::rpc::Json;

int usage(int status) {
  std::fprintf(status == 0 ? stdout : stderr,
               "usage: vtpmctl [--json] <command> [arguments]\n"
               "  create <domain-name> [--uuid UUID] [--instance N] [--label ACM:POLICY:LABEL]\n"
               "                         bind a vTPM instance to a domain (a requested number\n"
               "                         that is taken falls through to the lowest free one)\n"
               "                         and give it the domain's label\n"
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
    if (command == "create") {
      if (args.size() < 2) {
        std::fprintf(stderr, "vtpmctl: create needs a domain name\n");
        return usage(2);
      }
      params["name"] = std::string(args[1]);
      for (std::size_t i = 2; i < args.size(); ++i) {
        if ((args[i] == "--uuid" || args[i] == "--instance" || args[i] == "--label") &&
            i + 1 < args.size()) {
          if (args[i] == "--label") {
            params["label"] = std::string(args[i + 1]);
          } else if (args[i] == "--uuid") {
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
    auto client = shype::rpc::Client::connect(layout.socket, std::chrono::milliseconds(10'000));
    if (!client) {
      std::fprintf(stderr, "vtpmctl: vtpm_managerd is not running (no answer on %s)\n",
                   layout.socket.c_str());
      return 1;
    }
    client->set_timeout(std::chrono::milliseconds(30'000));
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
