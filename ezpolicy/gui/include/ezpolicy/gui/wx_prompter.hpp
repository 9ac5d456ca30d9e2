// The program's Prompter: modal wxWidgets dialogs parented to a window.
#pragma once

#include "ezpolicy/gui/prompter.hpp"

class wxWindow;

namespace shype::ezpolicy::gui {

class WxPrompter final : public Prompter {
 public:
  // Dialogs are parented to `parent` once it is set (the main frame).
  void set_parent(wxWindow* parent) noexcept { parent_ = parent; }

  std::optional<std::string> ask_text(const std::string& caption, const std::string& message,
                                      const std::string& initial) override;
  Answer ask(const std::string& caption, const std::string& message, bool with_cancel) override;
  void show_error(const std::string& caption, const std::string& message) override;
  void show_info(const std::string& caption, const std::string& message) override;
  std::optional<std::string> choose_file_to_open(const FileRequest& request) override;
  std::optional<std::string> choose_file_to_save(const FileRequest& request) override;

 private:
  wxWindow* parent_ = nullptr;
};

}  // namespace shype::ezpolicy::gui
