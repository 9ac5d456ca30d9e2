#include "window_driver.hpp"

#include <set>
#include <thread>

#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <wx/accel.h>
#include <wx/menuitem.h>

namespace shype::ezpolicy::testing {

std::optional<std::string> ScriptedPrompter::ask_text(const std::string& caption,
                                                      const std::string& message,
                                                      const std::string&) {
  questions.push_back(caption + ": " + message);
  if (texts_.empty()) {
    ADD_FAILURE() << "unexpected text prompt: " << caption << ": " << message;
    return std::nullopt;
  }
  auto text = texts_.front();
  texts_.pop_front();
  return text;
}

gui::Answer ScriptedPrompter::ask(const std::string& caption, const std::string& message, bool) {
  questions.push_back(caption + ": " + message);
  if (answers_.empty()) {
    ADD_FAILURE() << "unexpected question: " << caption << ": " << message;
    return gui::Answer::cancel;
  }
  const gui::Answer a = answers_.front();
  answers_.pop_front();
  return a;
}

void ScriptedPrompter::show_error(const std::string& caption, const std::string& message) {
  errors.push_back(caption + ": " + message);
}

void ScriptedPrompter::show_info(const std::string& caption, const std::string& message) {
  infos.push_back(caption + ": " + message);
}

std::optional<std::string> ScriptedPrompter::choose_file_to_open(const gui::FileRequest& request) {
  file_requests.push_back(request);
  if (files_.empty()) {
    ADD_FAILURE() << "unexpected file chooser: " << request.message;
    return std::nullopt;
  }
  auto path = files_.front();
  files_.pop_front();
  return path;
}

std::optional<std::string> ScriptedPrompter::choose_file_to_save(const gui::FileRequest& request) {
  return choose_file_to_open(request);
}

void pump(std::chrono::milliseconds duration) {
  const auto end = std::chrono::steady_clock::now() + duration;
  do {
    wxTheApp->ProcessPendingEvents();
    wxTheApp->Yield(true);
    wxTheApp->ProcessPendingEvents();
    (void)wxTheApp->ProcessIdle();  // also deletes destroyed top-level windows
    if (duration.count() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (std::chrono::steady_clock::now() < end);
}

bool pump_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    pump(std::chrono::milliseconds(20));
  }
  return true;
}

void click(wxButton* button) {
  ASSERT_NE(button, nullptr);
  ASSERT_TRUE(button->IsEnabled()) << button->GetLabel().utf8_str();
  wxCommandEvent event(wxEVT_BUTTON, button->GetId());
  event.SetEventObject(button);
  button->HandleWindowEvent(event);
  pump();
}

wxMenuItem* item_with_shortcut(wxFrame* frame, int key, int flags) {
  wxMenuBar* bar = frame->GetMenuBar();
  for (std::size_t m = 0; m < bar->GetMenuCount(); ++m) {
    for (wxMenuItem* item : bar->GetMenu(m)->GetMenuItems()) {
      std::unique_ptr<wxAcceleratorEntry> accel(item->GetAccel());
      if (accel && accel->GetKeyCode() == key && accel->GetFlags() == flags) return item;
    }
  }
  return nullptr;
}

void press_shortcut(wxFrame* frame, int key, int flags) {
  wxMenuItem* item = item_with_shortcut(frame, key, flags);
  ASSERT_NE(item, nullptr) << "no menu item has the shortcut " << static_cast<char>(key);
  ASSERT_TRUE(item->IsEnabled()) << item->GetItemLabelText().utf8_str() << " is disabled";
  menu_command(frame, item->GetId());
}

void menu_command(wxFrame* frame, int id) {
  wxCommandEvent event(wxEVT_MENU, id);
  event.SetEventObject(frame);
  frame->HandleWindowEvent(event);
  pump();
}

bool menu_enabled(wxFrame* frame, int id) {
  return frame->GetMenuBar()->IsEnabled(id);
}

wxImage capture(wxWindow* window) {
  const wxRect rect = window->GetScreenRect();
  Display* display = XOpenDisplay(nullptr);
  if (display == nullptr) return {};
  XImage* image = XGetImage(display, DefaultRootWindow(display), rect.x, rect.y,
                            static_cast<unsigned>(rect.width), static_cast<unsigned>(rect.height),
                            AllPlanes, ZPixmap);
  wxImage out;
  if (image != nullptr) {
    out.Create(rect.width, rect.height);
    for (int y = 0; y < rect.height; ++y) {
      for (int x = 0; x < rect.width; ++x) {
        const unsigned long pixel = XGetPixel(image, x, y);
        out.SetRGB(x, y, static_cast<unsigned char>((pixel >> 16) & 0xff),
                   static_cast<unsigned char>((pixel >> 8) & 0xff),
                   static_cast<unsigned char>(pixel & 0xff));
      }
    }
    XDestroyImage(image);
  }
  XCloseDisplay(display);
  return out;
}

std::size_t distinct_colours(const wxImage& image) {
  std::set<unsigned long> colours;
  const unsigned char* data = image.GetData();
  const std::size_t pixels =
      static_cast<std::size_t>(image.GetWidth()) * static_cast<std::size_t>(image.GetHeight());
  for (std::size_t i = 0; i < pixels; ++i) {
    colours.insert((static_cast<unsigned long>(data[3 * i]) << 16) |
                   (static_cast<unsigned long>(data[3 * i + 1]) << 8) | data[3 * i + 2]);
  }
  return colours.size();
}

}  // namespace shype::ezpolicy::testing
