// main() of the window tests: starts a private X server (Xvfb on a display
// number it picks itself, -nolisten tcp), initialises wxWidgets on it, runs
// the tests and stops the server by its pid, also when a test fails. Every
// wait is bounded, and an alarm ends a run that hangs anyway (the server
// dies with this process: PR_SET_PDEATHSIG).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wx/app.h>
#include <wx/cshelp.h>
#include <wx/image.h>
#include <wx/init.h>
#include <wx/log.h>

namespace {

constexpr int kServerStartSeconds = 20;
constexpr unsigned kWholeRunSeconds = 300;

struct XServer {
  pid_t pid = -1;
  std::string display;
};

// Xvfb -displayfd writes the display number it chose once it accepts
// connections.
XServer start_xvfb() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return {};
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return {};
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(fds[1], 3);  // dup2 clears close-on-exec on the copy
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
    }
    ::execlp("Xvfb", "Xvfb", "-displayfd", "3", "-nolisten", "tcp", "-screen", "0", "1280x1024x24",
             "-noreset", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string number;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(kServerStartSeconds);
  while (number.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buffer[16];
    const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n <= 0) break;
    number.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  if (number.find('\n') == std::string::npos) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return {};
  }
  number.erase(number.find('\n'));
  return {pid, ":" + number};
}

void stop(const XServer& server) {
  if (server.pid <= 0) return;
  ::kill(server.pid, SIGTERM);
  for (int i = 0; i < 100; ++i) {  // up to 5 s
    if (::waitpid(server.pid, nullptr, WNOHANG) == server.pid) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(server.pid, SIGKILL);
  ::waitpid(server.pid, nullptr, 0);
}

// A failed wxASSERT would open a modal dialog and wait forever: make it a
// test failure instead.
void assert_handler(const wxString& file, int line, const wxString& func, const wxString& cond,
                    const wxString& msg) {
  ADD_FAILURE_AT(file.utf8_str(), line) << "wxWidgets assertion " << cond.utf8_str() << " in "
                                        << func.utf8_str() << ": " << msg.utf8_str();
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (GTEST_FLAG_GET(list_tests)) return RUN_ALL_TESTS();

  ::alarm(kWholeRunSeconds);
  const XServer server = start_xvfb();
  if (server.pid <= 0) {
    std::fprintf(stderr, "gui tests: Xvfb did not start within %d s\n", kServerStartSeconds);
    return 1;
  }
  ::setenv("DISPLAY", server.display.c_str(), 1);
  ::setenv("GDK_BACKEND", "x11", 1);
  ::setenv("NO_AT_BRIDGE", "1", 1);            // no accessibility bus
  ::setenv("GSETTINGS_BACKEND", "memory", 1);  // no dconf
  ::unsetenv("SHYPE_ROOT");

  wxSetAssertHandler(assert_handler);
  wxApp::SetInstance(new wxApp);
  int status = 1;
  if (wxEntryStart(argc, argv) && wxTheApp->CallOnInit()) {
    delete wxLog::SetActiveTarget(new wxLogStderr);  // wx's own message boxes would be modal
    wxHelpProvider::Set(new wxSimpleHelpProvider);
    wxInitAllImageHandlers();
    status = RUN_ALL_TESTS();
    delete wxHelpProvider::Set(nullptr);
    wxTheApp->OnExit();
    wxEntryCleanup();
  } else {
    std::fprintf(stderr, "gui tests: wxWidgets could not open display %s\n",
                 server.display.c_str());
  }
  stop(server);
  return status;
}
