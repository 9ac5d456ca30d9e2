// The policy view: an existing XML policy opened to be refined (what
// xensec_gen did in a web page; reference xen-acm-tools.md 8). Opened from
// the main window's File > Open Policy (XML)...; a frame of its own, with
// its own File and Edit menus (so Ctrl-S saves the policy here).
//
// A thin view like MainFrame: every change goes through
// ezpolicy::PolicyEditor, which checks each step with the policy core and
// keeps the undo history; this frame asks for names (through the Prompter),
// calls the editor, shows its refusals and rebuilds its lists.
//
// Layout: a notebook of lists (STE types, CHWALL types, VM labels, resource
// labels, conflict sets), each with its buttons; a header row (policy name,
// version, FromPolicy, bootstrap label choice); below, Problems, the XML
// preview and Explain computed from the refined policy.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <wx/frame.h>

#include "ezpolicy/gui/prompter.hpp"
#include "ezpolicy/policy_editor.hpp"

class wxButton;
class wxChoice;
class wxListBox;
class wxNotebook;
class wxStaticText;
class wxTextCtrl;

namespace shype::ezpolicy::gui {

// Menu and button identifiers of the policy view (tests send these).
enum PolicyCommandId : int {
  kPolicyOpen = wxID_HIGHEST + 300,
  kPolicySave,
  kPolicySaveAs,
  kPolicyDeploy,
  kPolicyClose,
  kPolicyUndo,
  kPolicyRedo,
  // per list
  kSteAdd,
  kSteRename,
  kSteDelete,
  kChwallAdd,
  kChwallRename,
  kChwallDelete,
  kVmAdd,
  kVmRename,
  kVmDelete,
  kVmAddSte,
  kVmAddChwall,
  kVmRemoveType,
  kResAdd,
  kResRename,
  kResDelete,
  kResChangeSte,
  kSetAdd,
  kSetRename,
  kSetDelete,
  kSetAddMembers,
  kSetRemoveMember,
  // header
  kHeaderName,
  kHeaderVersion,
  kHeaderFromPolicy,
  kHeaderMakeUpdate,
  kBootstrapChoice,
  kExplainFirst,
  kExplainSecond,
};

// One page of the lists: the items and, for labels and conflict sets, the
// selected item's types.
struct PolicyListPage {
  wxListBox* items = nullptr;
  wxListBox* members = nullptr;  // null for the type pages
};

class PolicyFrame : public wxFrame {
 public:
  // `root` is SHYPE_ROOT (Deploy talks to its xend and writes under its
  // etc/xen/acm-security/policies). The prompter must outlive the frame.
  PolicyFrame(wxWindow* parent, Prompter& prompter, std::filesystem::path root);

  // Loads an XML policy; on failure shows the core's reason (file:line) and
  // keeps what was open.
  bool open_policy(const std::filesystem::path& path);

  // Runs a command as its button or menu item does.
  void run_command(int id);

  // --- what tests look at ----------------------------------------------
  [[nodiscard]] const PolicyEditor& editor() const noexcept { return editor_; }
  [[nodiscard]] const PolicyListPage& ste_page() const noexcept { return ste_; }
  [[nodiscard]] const PolicyListPage& chwall_page() const noexcept { return chwall_; }
  [[nodiscard]] const PolicyListPage& vm_page() const noexcept { return vm_; }
  [[nodiscard]] const PolicyListPage& resource_page() const noexcept { return res_; }
  [[nodiscard]] const PolicyListPage& conflict_page() const noexcept { return sets_; }
  [[nodiscard]] wxNotebook* pages() const noexcept { return pages_; }
  [[nodiscard]] wxChoice* bootstrap() const noexcept { return bootstrap_; }
  [[nodiscard]] wxStaticText* header() const noexcept { return header_; }
  [[nodiscard]] wxListBox* problems() const noexcept { return problems_; }
  [[nodiscard]] wxTextCtrl* preview() const noexcept { return preview_; }
  [[nodiscard]] wxChoice* explain_first() const noexcept { return explain_first_; }
  [[nodiscard]] wxChoice* explain_second() const noexcept { return explain_second_; }
  [[nodiscard]] wxTextCtrl* explanation() const noexcept { return explanation_; }
  [[nodiscard]] wxButton* button(int id) const;

 private:
  void build_menus();
  void build_layout();
  void refresh();
  void update_title();
  void on_command(wxCommandEvent& event);
  void on_close(wxCloseEvent& event);
  void on_selection(wxCommandEvent& event);
  void refresh_members();
  void explain_selection();

  bool report(const acm::Status& status, const std::string& caption, const std::string& what);
  [[nodiscard]] std::string selected(const PolicyListPage& page) const;
  [[nodiscard]] std::optional<std::string> ask(const std::string& caption,
                                               const std::string& message,
                                               const std::string& initial = "");
  bool save_policy();
  bool save_policy_as();
  void open_policy_dialog();
  void deploy();
  bool settle_unsaved_changes(const std::string& caption);

  void types_command(int id, TypeKind kind);
  void vm_command(int id);
  void resource_command(int id);
  void conflict_command(int id);
  void header_command(int id);

  Prompter& prompter_;
  std::filesystem::path root_;
  PolicyEditor editor_;
  bool refreshing_ = false;

  wxNotebook* pages_ = nullptr;
  PolicyListPage ste_;
  PolicyListPage chwall_;
  PolicyListPage vm_;
  PolicyListPage res_;
  PolicyListPage sets_;
  std::vector<wxButton*> buttons_;
  wxStaticText* header_ = nullptr;
  wxChoice* bootstrap_ = nullptr;
  wxListBox* problems_ = nullptr;
  wxTextCtrl* preview_ = nullptr;
  wxChoice* explain_first_ = nullptr;
  wxChoice* explain_second_ = nullptr;
  wxTextCtrl* explanation_ = nullptr;
};

}  // namespace shype::ezpolicy::gui
