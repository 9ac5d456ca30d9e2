#include "swtpm_process.hpp"

#include "process.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace shype::testing {
namespace fs = std::filesystem;

namespace {

std::string find_program(std::string program) {
  if (!program.empty()) return program;
  if (const char* env = std::getenv("SHYPE_SWTPM"); env != nullptr && *env != '\0') return env;
  return on_path("swtpm").value_or("/usr/bin/swtpm");
}

bool accepts_connections(const fs::path& socket) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string path = socket.string();
  if (path.size() >= sizeof address.sun_path) return false;
  std::copy(path.begin(), path.end(), address.sun_path);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  // SAFETY: sockaddr_un is a sockaddr for AF_UNIX, as connect(2) expects.
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

bool SwtpmProcess::available() {
  return ::access(find_program({}).c_str(), X_OK) == 0;
}

SwtpmProcess::SwtpmProcess(fs::path dir, std::string program) : dir_(std::move(dir)) {
  fs::create_directories(dir_);
  std::error_code ec;
  fs::remove(dir_ / "tpm.sock", ec);
  fs::remove(dir_ / "tpm.sock.ctrl", ec);
  const std::string swtpm = find_program(std::move(program));
  std::vector<std::string> args = {swtpm,
                                   "socket",
                                   "--tpm2",
                                   "--tpmstate",
                                   "dir=" + dir_.string(),
                                   "--server",
                                   "type=unixio,path=" + (dir_ / "tpm.sock").string(),
                                   "--ctrl",
                                   "type=unixio,path=" + (dir_ / "tpm.sock.ctrl").string(),
                                   "--flags",
                                   "not-need-init,startup-clear",
                                   "--log",
                                   "file=" + (dir_ / "swtpm.log").string() + ",level=1"};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  // Its own session: with autogroup scheduling a session is a scheduling
  // group, so it does not share the test's.
  posix_spawnattr_t attributes;
  ::posix_spawnattr_init(&attributes);
  ::posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID);
  const int spawned =
      ::posix_spawn(&pid_, swtpm.c_str(), &actions, &attributes, argv.data(), environ);
  ::posix_spawnattr_destroy(&attributes);
  ::posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    pid_ = 0;
    throw std::runtime_error("cannot start " + swtpm);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  // The socket files appear at bind(), before swtpm listens: wait until the
  // data socket takes a connection (swtpm sees it close and waits for the next).
  const auto accepting = [&] {
    if (!fs::exists(dir_ / "tpm.sock.ctrl", ec)) return false;
    const std::string path = (dir_ / "tpm.sock").string();
    sockaddr_un address{};
    if (path.size() >= sizeof address.sun_path) return false;
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    // SAFETY: sockaddr_un is a sockaddr for AF_UNIX (connect(2)).
    const bool ok =
        ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    return ok;
  };
  while (!accepting()) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = 0;
      throw std::runtime_error(swtpm + " exited at start; see " + (dir_ / "swtpm.log").string());
    }
    if (std::chrono::steady_clock::now() > deadline) {
      stop();
      throw std::runtime_error(swtpm + " did not open its sockets within 5 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // The socket files appear at bind(), slightly before swtpm accepts: wait
  // until both answer a connect, so the first client is not refused.
  for (const fs::path& socket : {dir_ / "tpm.sock", dir_ / "tpm.sock.ctrl"}) {
    while (!accepts_connections(socket)) {
      if (std::chrono::steady_clock::now() > deadline) {
        stop();
        throw std::runtime_error(swtpm + " did not accept connections within 5 s");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
}

SwtpmProcess::~SwtpmProcess() {
  stop();
}

std::string SwtpmProcess::tcti() const {
  return "swtpm:path=" + (dir_ / "tpm.sock").string();
}

void SwtpmProcess::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (::waitpid(pid_, nullptr, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  pid_ = 0;
}

}  // namespace shype::testing
