// Driving the real window in tests: a Prompter that answers from a script
// and records what was asked, and helpers that press buttons, use menu
// shortcuts and let wxWidgets process what is pending.
#pragma once

#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <wx/app.h>
#include <wx/button.h>
#include <wx/image.h>
#include <wx/menu.h>

#include "ezpolicy/gui/main_frame.hpp"
#include "ezpolicy/gui/prompter.hpp"

namespace shype::ezpolicy::testing {

class ScriptedPrompter final : public gui::Prompter {
 public:
  // Queue the answers the next questions get.
  void answer_text(std::optional<std::string> text) { texts_.push_back(std::move(text)); }
  void answer(gui::Answer a) { answers_.push_back(a); }
  void answer_file(std::optional<std::string> path) { files_.push_back(std::move(path)); }

  std::optional<std::string> ask_text(const std::string& caption, const std::string& message,
                                      const std::string& initial) override;
  gui::Answer ask(const std::string& caption, const std::string& message,
                  bool with_cancel) override;
  void show_error(const std::string& caption, const std::string& message) override;
  void show_info(const std::string& caption, const std::string& message) override;
  std::optional<std::string> choose_file_to_open(const gui::FileRequest& request) override;
  std::optional<std::string> choose_file_to_save(const gui::FileRequest& request) override;

  // "caption: message" of everything shown or asked, in order.
  std::vector<std::string> errors;
  std::vector<std::string> infos;
  std::vector<std::string> questions;
  std::vector<gui::FileRequest> file_requests;

  // True when every scripted answer was used.
  [[nodiscard]] bool script_done() const {
    return texts_.empty() && answers_.empty() && files_.empty();
  }

 private:
  std::deque<std::optional<std::string>> texts_;
  std::deque<gui::Answer> answers_;
  std::deque<std::optional<std::string>> files_;
};

// Processes pending events and GTK's queue for about `duration`.
void pump(std::chrono::milliseconds duration = std::chrono::milliseconds(0));
// Waits (bounded) until `done` holds, pumping events.
bool pump_until(const std::function<bool()>& done, std::chrono::milliseconds limit);

// A button press as wxWidgets delivers it.
void click(wxButton* button);
// The menu item that has this shortcut (e.g. 'O', wxACCEL_CTRL), or null.
[[nodiscard]] wxMenuItem* item_with_shortcut(wxFrame* frame, int key, int flags);
// Uses a menu shortcut: finds the item that has it, checks it is enabled,
// and sends its command. Fails the test if no enabled item has it.
void press_shortcut(wxFrame* frame, int key, int flags);
// Sends a menu command by id.
void menu_command(wxFrame* frame, int id);
[[nodiscard]] bool menu_enabled(wxFrame* frame, int id);

// What the X server shows of the window (the root window's pixels in its
// rectangle).
[[nodiscard]] wxImage capture(wxWindow* window);
[[nodiscard]] std::size_t distinct_colours(const wxImage& image);

}  // namespace shype::ezpolicy::testing
