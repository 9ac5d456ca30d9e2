// ezPolicy's window (manual 10.2.2, Figure 10.2; reference
// xen-acm-tools.md 7.2-7.4): the organization/department tree, the
// run-time exclusion rules, the original menus and shortcuts, and beside
// them a Problems list, a preview of the XML policy and an Explain view.
//
// A thin view (STYLE.md rule 2): every change goes through
// ezpolicy::WorkloadEditor, which enforces every rule and keeps the undo
// history; the window asks for names and selections (through a Prompter),
// calls the editor and shows its refusals. After each change the whole
// view is rebuilt from the editor's definition.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <wx/frame.h>
#include <wx/treectrl.h>

#include "ezpolicy/gui/prompter.hpp"
#include "ezpolicy/workload_editor.hpp"

class wxButton;
class wxChoice;
class wxListBox;
class wxListCtrl;
class wxMenu;
class wxNotebook;
class wxPanel;
class wxScrolledWindow;
class wxTextCtrl;

namespace shype::ezpolicy::gui {

class PolicyFrame;

// Menu and control identifiers (tests send these as wxEVT_MENU commands).
enum CommandId : int {
  kIdOpen = wxID_HIGHEST + 100,
  kIdSave,
  kIdSaveAs,
  kIdSavePolicy,
  kIdDeploy,
  kIdNew,
  kIdExit,
  kIdUndo,
  kIdRedo,
  kIdRename,
  kIdAdd,
  kIdDelete,
  kIdSortAll,
  kIdCollapseAll,
  kIdExpandAll,
  kIdHelp,
  kIdAbout,
  kIdNewOrg,
  kIdCreateRule,
  kIdRuleRename,
  kIdRuleDelete,
  kIdOpenPolicy,  // File > Open Policy (XML)...: the policy view (PolicyFrame)
};

// One rule box of the right panel.
struct RuleBox {
  wxPanel* panel = nullptr;
  wxButton* add = nullptr;     // "--> Add"
  wxButton* remove = nullptr;  // "<-- Del"
  wxListBox* members = nullptr;
  wxButton* menu = nullptr;  // Rename/Delete menu
};

class MainFrame : public wxFrame {
 public:
  // `root` is SHYPE_ROOT: policies go to its etc/xen/acm-security/policies
  // and Deploy talks to its xend. The prompter must outlive the frame.
  MainFrame(Prompter& prompter, std::filesystem::path root);
  ~MainFrame() override;

  // Opens a .wld file; on failure shows why and keeps the current definition.
  bool open_file(const std::string& path);
  // Opens an XML policy in a policy view (PolicyFrame) to refine it; on
  // failure shows why and returns null (no view stays open).
  PolicyFrame* open_policy(const std::string& path);

  // --- what tests (and the screenshot) look at ---------------------------
  [[nodiscard]] const WorkloadEditor& editor() const noexcept { return editor_; }
  [[nodiscard]] const std::string& current_file() const noexcept { return current_file_; }
  [[nodiscard]] wxTreeCtrl* tree() const noexcept { return tree_; }
  [[nodiscard]] wxButton* new_org_button() const noexcept { return new_org_; }
  [[nodiscard]] wxButton* create_rule_button() const noexcept { return create_rule_; }
  [[nodiscard]] const std::vector<RuleBox>& rule_boxes() const noexcept { return rule_boxes_; }
  [[nodiscard]] wxListCtrl* problems() const noexcept { return problems_; }
  [[nodiscard]] wxTextCtrl* preview() const noexcept { return preview_; }
  [[nodiscard]] wxTextCtrl* policy_name() const noexcept { return policy_name_; }
  [[nodiscard]] wxChoice* explain_first() const noexcept { return explain_first_; }
  [[nodiscard]] wxChoice* explain_second() const noexcept { return explain_second_; }
  [[nodiscard]] wxTextCtrl* explanation() const noexcept { return explanation_; }
  [[nodiscard]] wxNotebook* views() const noexcept { return views_; }

  // The tree item of a workload type ("Org" or "Org.Dept"); invalid if none.
  [[nodiscard]] wxTreeItemId find_item(const std::string& type) const;
  // Replaces the tree selection with these workload types.
  void select_types(const std::vector<std::string>& types);
  [[nodiscard]] std::vector<std::string> selected_types() const;
  // The right-click menu of the tree for the current selection (what a
  // right-click on `item` pops up); the caller owns it.
  [[nodiscard]] std::unique_ptr<wxMenu> make_tree_menu(const wxTreeItemId& item) const;
  // The Rename/Delete menu of a rule box.
  [[nodiscard]] std::unique_ptr<wxMenu> make_rule_menu() const;
  // Runs a command of a rule box's menu (kIdRuleRename / kIdRuleDelete).
  void run_rule_command(std::size_t rule, int id);

 private:
  void build_menus();
  void build_layout();
  wxPanel* build_tree_panel(wxWindow* parent);
  wxPanel* build_rules_panel(wxWindow* parent);
  wxNotebook* build_views(wxWindow* parent);

  // Rebuild the view from the editor's definition.
  void refresh();
  void refresh_tree();
  void refresh_rules();
  void refresh_views();
  void update_controls();
  void update_title();

  void on_command(wxCommandEvent& event);
  void on_close(wxCloseEvent& event);
  void on_tree_menu(wxTreeEvent& event);

  // The commands.
  void new_organization();
  void add_department();
  void rename_selected();
  void delete_selected();
  void create_rule();
  void add_to_rule(std::size_t rule);
  void remove_from_rule(std::size_t rule);
  void undo();
  void redo();
  void new_definition();
  void open_definition();
  void open_policy_dialog();
  bool save_definition();
  bool save_definition_as();
  void save_as_policy();
  void deploy();
  void show_help();
  void show_about();
  void explain_selection();

  // Runs a model operation's result: on failure shows `what` and the reason.
  bool report(const acm::Status& status, const std::string& caption, const std::string& what);
  // Asks whether to save unsaved changes; false when the user cancels (or
  // the save fails).
  bool settle_unsaved_changes(const std::string& caption);
  [[nodiscard]] std::string ask_policy_name(const std::string& caption);
  bool write_definition(const std::string& path);

  Prompter& prompter_;
  std::filesystem::path root_;
  WorkloadEditor editor_;
  std::string current_file_;
  bool new_file_ = false;
  std::set<std::string> collapsed_;  // organizations the user collapsed

  wxTreeCtrl* tree_ = nullptr;
  wxTreeItemId tree_root_;
  wxButton* new_org_ = nullptr;
  wxButton* create_rule_ = nullptr;
  wxScrolledWindow* rules_scroll_ = nullptr;
  wxPanel* rules_inner_ = nullptr;
  std::vector<RuleBox> rule_boxes_;
  wxNotebook* views_ = nullptr;
  wxListCtrl* problems_ = nullptr;
  wxTextCtrl* policy_name_ = nullptr;
  wxTextCtrl* preview_ = nullptr;
  wxChoice* explain_first_ = nullptr;
  wxChoice* explain_second_ = nullptr;
  wxTextCtrl* explanation_ = nullptr;
  bool refreshing_ = false;
};

}  // namespace shype::ezpolicy::gui
