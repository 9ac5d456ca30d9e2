// Every question ezPolicy's window asks the user goes through a Prompter:
// the program answers them with wxWidgets dialogs (WxPrompter), tests with
// scripted answers, so the real window can be driven without modal loops.
#pragma once

#include <optional>
#include <string>

namespace shype::ezpolicy::gui {

enum class Answer { yes, no, cancel };

struct FileRequest {
  std::string message;            // e.g. "Select Workload Definition file name"
  std::string default_directory;  // may be empty
  std::string default_file;       // e.g. "myspec.wld"
  std::string wildcard;           // e.g. "Workload definitions (*.wld)|*.wld"
};

class Prompter {
 public:
  virtual ~Prompter() = default;

  // A text entry; nullopt when cancelled.
  [[nodiscard]] virtual std::optional<std::string> ask_text(const std::string& caption,
                                                            const std::string& message,
                                                            const std::string& initial) = 0;
  // A Yes/No question (with Cancel when `with_cancel`).
  [[nodiscard]] virtual Answer ask(const std::string& caption, const std::string& message,
                                   bool with_cancel) = 0;
  // An error: what failed and why.
  virtual void show_error(const std::string& caption, const std::string& message) = 0;
  // An outcome or information (a policy was written, xend's answer, About).
  virtual void show_info(const std::string& caption, const std::string& message) = 0;
  // File choosers; nullopt when cancelled.
  [[nodiscard]] virtual std::optional<std::string> choose_file_to_open(
      const FileRequest& request) = 0;
  [[nodiscard]] virtual std::optional<std::string> choose_file_to_save(
      const FileRequest& request) = 0;
};

}  // namespace shype::ezpolicy::gui
