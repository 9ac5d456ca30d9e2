// shype-hv start [--foreground] | stop | status
// SHYPE_ROOT (default "/") locates everything (daemon.hpp).
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string_view>

#include "daemon.hpp"

namespace {

int usage(int status) {
  std::fprintf(status == 0 ? stdout : stderr,
               "usage: shype-hv start [--foreground] | stop | status\n"
               "  start         boot the hypervisor under $SHYPE_ROOT (default /); returns once\n"
               "                its socket answers (--foreground: serve in this process)\n"
               "  stop          SIGTERM the running hypervisor, wait (then SIGKILL)\n"
               "  status        exit 0 if running and answering, 3 if not\n"
               "boot configuration: $SHYPE_ROOT/etc/shype/boot.conf\n");
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const char* env_root = std::getenv("SHYPE_ROOT");
    const std::filesystem::path root =
        env_root != nullptr && *env_root != '\0' ? env_root : "/";
    if (argc < 2) return usage(2);
    const std::string_view command = argv[1];
    if (command == "--help" || command == "-h" || command == "help") return usage(0);
    if (command == "start") {
      bool foreground = false;
      for (int i = 2; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--foreground") {
          foreground = true;
        } else {
          std::fprintf(stderr, "shype-hv: unknown option '%s'\n", argv[i]);
          return usage(2);
        }
      }
      return shype::hv::start_command(root, foreground);
    }
    if (argc != 2) return usage(2);
    if (command == "stop") return shype::hv::stop_command(root);
    if (command == "status") return shype::hv::status_command(root);
    std::fprintf(stderr, "shype-hv: unknown command '%s'\n", argv[1]);
    return usage(2);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "shype-hv: %s\n", e.what());
    return 1;
  }
}
