#include "ezpolicy/gui/wx_prompter.hpp"

#include <wx/filedlg.h>
#include <wx/msgdlg.h>
#include <wx/textdlg.h>

#include "wx_strings.hpp"

namespace shype::ezpolicy::gui {
std::optional<std::string> WxPrompter::ask_text(const std::string& caption,
                                                const std::string& message,
                                                const std::string& initial) {
  wxTextEntryDialog dialog(parent_, to_wx(message), to_wx(caption), to_wx(initial));
  if (dialog.ShowModal() != wxID_OK) return std::nullopt;
  return to_utf8(dialog.GetValue());
}

Answer WxPrompter::ask(const std::string& caption, const std::string& message, bool with_cancel) {
  wxMessageDialog dialog(parent_, to_wx(message), to_wx(caption),
                         wxYES_NO | (with_cancel ? wxCANCEL : 0) | wxICON_QUESTION);
  switch (dialog.ShowModal()) {
    case wxID_YES:
      return Answer::yes;
    case wxID_NO:
      return Answer::no;
    default:
      return with_cancel ? Answer::cancel : Answer::no;
  }
}

void WxPrompter::show_error(const std::string& caption, const std::string& message) {
  wxMessageDialog dialog(parent_, to_wx(message), to_wx(caption), wxOK | wxICON_ERROR);
  dialog.ShowModal();
}

void WxPrompter::show_info(const std::string& caption, const std::string& message) {
  wxMessageDialog dialog(parent_, to_wx(message), to_wx(caption), wxOK | wxICON_INFORMATION);
  dialog.ShowModal();
}

std::optional<std::string> WxPrompter::choose_file_to_open(const FileRequest& request) {
  wxFileDialog dialog(parent_, to_wx(request.message), to_wx(request.default_directory),
                      to_wx(request.default_file), to_wx(request.wildcard),
                      wxFD_OPEN | wxFD_FILE_MUST_EXIST);
  if (dialog.ShowModal() != wxID_OK) return std::nullopt;
  return to_utf8(dialog.GetPath());
}

std::optional<std::string> WxPrompter::choose_file_to_save(const FileRequest& request) {
  wxFileDialog dialog(parent_, to_wx(request.message), to_wx(request.default_directory),
                      to_wx(request.default_file), to_wx(request.wildcard),
                      wxFD_SAVE | wxFD_OVERWRITE_PROMPT);
  if (dialog.ShowModal() != wxID_OK) return std::nullopt;
  return to_utf8(dialog.GetPath());
}

}  // namespace shype::ezpolicy::gui
