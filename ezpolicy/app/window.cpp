// The window mode: ezPolicy's wxWidgets window (ezpolicy/gui), optionally
// opening the workload definition named on the command line.
#include <cstdio>
#include <cstdlib>

#include <wx/app.h>
#include <wx/cshelp.h>
#include <wx/init.h>

#include "command_line.hpp"
#include "ezpolicy/gui/main_frame.hpp"
#include "ezpolicy/gui/wx_prompter.hpp"
#include "ezpolicy/translator.hpp"

namespace shype::ezpolicy::app {
namespace {

class EzPolicyApp : public wxApp {
 public:
  explicit EzPolicyApp(const CommandLine& command) : command_(command) {}

  bool OnInit() override {
    SetAppName("xensec_ezpolicy");
    wxHelpProvider::Set(new wxSimpleHelpProvider);
    auto* frame = new gui::MainFrame(prompter_, root_from_environment());
    prompter_.set_parent(frame);
    frame->Show();
    if (command_.workload_file) (void)frame->open_file(*command_.workload_file);
    return true;
  }

  int OnExit() override {
    delete wxHelpProvider::Set(nullptr);
    std::puts("Goodbye");
    return wxApp::OnExit();
  }

 private:
  const CommandLine& command_;
  gui::WxPrompter prompter_;
};

}  // namespace

int run_window(const CommandLine& command) {
  // wxWidgets wants argc/argv for its own options; the command line was
  // parsed already, so it gets only the program name. wxEntry reports a
  // missing display itself ("Unable to initialize GTK+").
  const char* display = std::getenv("DISPLAY");
  const char* wayland = std::getenv("WAYLAND_DISPLAY");
  if ((display == nullptr || *display == '\0') && (wayland == nullptr || *wayland == '\0')) {
    std::fprintf(stderr,
                 "xensec_ezpolicy: cannot open the window: no display (DISPLAY is not set); use "
                 "--translate FILE.wld --policy NAME to translate without it (see --help)\n");
    return kExitUsage;
  }
  int argc = 1;
  char name[] = "xensec_ezpolicy";
  char* argv[] = {name, nullptr};
  wxApp::SetInstance(new EzPolicyApp(command));
  return wxEntry(argc, argv) == 0 ? kExitOk : kExitError;
}

}  // namespace shype::ezpolicy::app
