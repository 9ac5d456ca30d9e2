#include "ezpolicy/gui/main_frame.hpp"

#include <algorithm>
#include <utility>

#include <wx/artprov.h>
#include <wx/button.h>
#include <wx/choice.h>
#include <wx/cshelp.h>
#include <wx/font.h>
#include <wx/listbox.h>
#include <wx/listctrl.h>
#include <wx/menu.h>
#include <wx/notebook.h>
#include <wx/panel.h>
#include <wx/scrolwin.h>
#include <wx/sizer.h>
#include <wx/splitter.h>
#include <wx/statbox.h>
#include <wx/stattext.h>
#include <wx/statusbr.h>
#include <wx/textctrl.h>
#include <wx/utils.h>

#include "acm/policy_model.hpp"
#include "ezpolicy/gui/deploy.hpp"
#include "ezpolicy/gui/help_text.hpp"
#include "ezpolicy/gui/policy_frame.hpp"
#include "ezpolicy/gui/workload_views.hpp"
#include "ezpolicy/translator.hpp"
#include "ezpolicy/wld_file.hpp"
#include "ezpolicy/workload_rules.hpp"
#include "wx_strings.hpp"

namespace shype::ezpolicy::gui {
namespace {

constexpr const char* kInitialTitle = "EZ Workload Protection Policy Tool";
constexpr const char* kNamingCaption = "Naming a Workload";
constexpr const char* kNamingMessage = "Please enter org/dept name:";
constexpr const char* kCreateRuleCaption = "Creating A New Run-time Exclusion Rule";
constexpr const char* kAddToRuleCaption =
    "Adding Orgs/Depts workloads to a Run-time Exclusion Rule";
constexpr const char* kDelFromRuleCaption =
    "Deleting Orgs/Depts workloads from a Run-time Exclusion Rule";
constexpr const char* kRenameRuleCaption = "Renaming A Run-time Exclusion Rule";
constexpr const char* kTranslateCaption = "Translate: Creating The Xen/ACM Policy";
constexpr const char* kDeployCaption = "Deploy: Setting The Policy In xend";
constexpr const char* kWldWildcard = "Workload definitions (*.wld)|*.wld|All files|*";

// What a tree item stands for: an organization (department empty) or a
// department of one.
class WorkloadItem : public wxTreeItemData {
 public:
  WorkloadItem(std::string organization, std::string department)
      : organization_(std::move(organization)), department_(std::move(department)) {}
  [[nodiscard]] const std::string& organization() const { return organization_; }
  [[nodiscard]] const std::string& department() const { return department_; }
  [[nodiscard]] bool is_department() const { return !department_.empty(); }
  [[nodiscard]] std::string type() const { return workload_type(organization_, department_); }

 private:
  std::string organization_;
  std::string department_;
};

const WorkloadItem* item_data(const wxTreeCtrl* tree, const wxTreeItemId& id) {
  if (!id.IsOk()) return nullptr;
  return dynamic_cast<const WorkloadItem*>(tree->GetItemData(id));
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

std::string rule_title(const ExclusionRule& rule) {
  return rule.name.empty() ? std::string("(unnamed rule)") : rule.name;
}

}  // namespace

MainFrame::MainFrame(Prompter& prompter, std::filesystem::path root)
    : wxFrame(nullptr, wxID_ANY, kInitialTitle, wxDefaultPosition, wxSize(980, 720)),
      prompter_(prompter),
      root_(std::move(root)) {
  build_menus();
  build_layout();
  CreateStatusBar();
  Bind(wxEVT_MENU, &MainFrame::on_command, this);
  Bind(wxEVT_BUTTON, &MainFrame::on_command, this, kIdNewOrg);
  Bind(wxEVT_BUTTON, &MainFrame::on_command, this, kIdCreateRule);
  Bind(wxEVT_CLOSE_WINDOW, &MainFrame::on_close, this);
  refresh();
  SetStatusText(
      "Step 1: define organizations and departments; step 2: run-time exclusion "
      "rules; step 3: File > Save as Xen ACM Security Policy");
}

MainFrame::~MainFrame() = default;

// --- layout ---------------------------------------------------------------

void MainFrame::build_menus() {
  auto* file = new wxMenu;
  file->Append(kIdOpen, "&Open Workload Definition...\tCtrl+O");
  file->Append(kIdSave, "&Save Workload Definition\tCtrl+S");
  file->Append(kIdSaveAs, "Save Workload Definition &as...\tAlt+S");
  file->AppendSeparator();
  file->Append(kIdOpenPolicy, "Open &Policy (XML)...",
               "Open an existing XML security policy to refine its types, labels and "
               "conflict sets");
  file->Append(kIdSavePolicy, "Save as Xen ACM Security &Policy...\tAlt+T");
  file->Append(kIdDeploy, "&Deploy Policy to xend...",
               "Save as Xen ACM Security Policy, then set it as the running policy (xm setpolicy)");
  file->AppendSeparator();
  file->Append(kIdNew, "&New\tCtrl+N");
  file->AppendSeparator();
  file->Append(kIdExit, "E&xit\tCtrl+X");

  auto* edit = new wxMenu;
  edit->Append(kIdUndo, "&Undo\tCtrl+Z");
  edit->Append(kIdRedo, "Re&do\tCtrl+Y");
  edit->AppendSeparator();
  edit->Append(kIdRename, "&Rename\tCtrl+R");
  edit->Append(kIdAdd, "&Add\tCtrl+A", "Add a department to the selected organization");
  edit->Append(kIdDelete, "&Delete\tCtrl+D");

  auto* view = new wxMenu;
  view->Append(kIdSortAll, "&Sort All", "Sort the departments of each organization");
  view->Append(kIdCollapseAll, "&Collapse All\tCtrl+C");
  view->Append(kIdExpandAll, "&Expand All\tCtrl+E");

  auto* help = new wxMenu;
  help->Append(kIdHelp, "&Step-By-Step Help\tCtrl+H");
  help->Append(kIdAbout, "&About");

  auto* bar = new wxMenuBar;
  bar->Append(file, "&File");
  bar->Append(edit, "&Edit");
  bar->Append(view, "&View");
  bar->Append(help, "&Help");
  SetMenuBar(bar);
}

void MainFrame::build_layout() {
  // Sized from the start: a splitter of default size would give its panes
  // negative sizes until the frame is laid out.
  const wxSize size = GetClientSize();
  auto* outer =
      new wxSplitterWindow(this, wxID_ANY, wxDefaultPosition, size, wxSP_3D | wxSP_LIVE_UPDATE);
  auto* inner = new wxSplitterWindow(outer, wxID_ANY, wxDefaultPosition, wxSize(size.x, 430),
                                     wxSP_3D | wxSP_LIVE_UPDATE);
  wxPanel* left = build_tree_panel(inner);
  wxPanel* right = build_rules_panel(inner);
  inner->SplitVertically(left, right, 420);
  inner->SetMinimumPaneSize(200);
  views_ = build_views(outer);
  outer->SplitHorizontally(inner, views_, 430);
  outer->SetMinimumPaneSize(120);
  outer->SetSashGravity(0.7);
}

wxPanel* MainFrame::build_tree_panel(wxWindow* parent) {
  auto* panel = new wxPanel(parent);
  auto* header = new wxStaticText(panel, wxID_ANY, "Organization / Department Definition");
  header->SetFont(header->GetFont().Bold());
  header->SetForegroundColour(*wxBLUE);
  new_org_ = new wxButton(panel, kIdNewOrg, "New Org");
  new_org_->SetToolTip("Add A New Organization");
  new_org_->SetHelpText(help::kNewOrgButton);

  tree_ = new wxTreeCtrl(panel, wxID_ANY, wxDefaultPosition, wxDefaultSize,
                         wxTR_HAS_BUTTONS | wxTR_HIDE_ROOT | wxTR_MULTIPLE | wxTR_LINES_AT_ROOT |
                             wxTR_FULL_ROW_HIGHLIGHT);
  tree_->SetHelpText(help::kTree);
  tree_root_ = tree_->AddRoot("Organization / Department");
  tree_->Bind(wxEVT_TREE_SEL_CHANGED, [this](wxTreeEvent& e) {
    if (!refreshing_) update_controls();
    e.Skip();
  });
  tree_->Bind(wxEVT_TREE_ITEM_MENU, &MainFrame::on_tree_menu, this);
  tree_->Bind(wxEVT_TREE_ITEM_COLLAPSED, [this](wxTreeEvent& e) {
    if (const WorkloadItem* data = item_data(tree_, e.GetItem()); data && !refreshing_)
      collapsed_.insert(data->organization());
  });
  tree_->Bind(wxEVT_TREE_ITEM_EXPANDED, [this](wxTreeEvent& e) {
    if (const WorkloadItem* data = item_data(tree_, e.GetItem()); data && !refreshing_)
      collapsed_.erase(data->organization());
  });

  create_rule_ =
      new wxButton(panel, kIdCreateRule, "Create run-time exclusion rule from selection -->");
  create_rule_->SetToolTip("Create New Exclusion rule From Above Workload Selection");
  create_rule_->SetHelpText(help::kCreateRuleButton);

  auto* top = new wxBoxSizer(wxHORIZONTAL);
  top->Add(header, 1, wxALIGN_CENTER_VERTICAL | wxRIGHT, 6);
  top->Add(new_org_, 0);
  auto* column = new wxBoxSizer(wxVERTICAL);
  column->Add(top, 0, wxEXPAND | wxALL, 4);
  column->Add(tree_, 1, wxEXPAND | wxLEFT | wxRIGHT, 4);
  column->Add(create_rule_, 0, wxEXPAND | wxALL, 4);
  panel->SetSizer(column);
  return panel;
}

wxPanel* MainFrame::build_rules_panel(wxWindow* parent) {
  auto* panel = new wxPanel(parent);
  auto* header = new wxStaticText(panel, wxID_ANY, "Run-time Exclusion Rules");
  header->SetFont(header->GetFont().Bold());
  header->SetForegroundColour(wxColour(255, 69, 0));  // orange-red
  auto* context_help = new wxContextHelpButton(panel);
  context_help->SetToolTip(
      "Context Help: Press this button, then press any other button or panel to get help.");

  rules_scroll_ = new wxScrolledWindow(panel, wxID_ANY, wxDefaultPosition, wxDefaultSize,
                                       wxVSCROLL | wxBORDER_THEME);
  rules_scroll_->SetScrollRate(0, 10);
  rules_scroll_->SetHelpText(help::kRulesPanel);
  rules_scroll_->SetSizer(new wxBoxSizer(wxVERTICAL));

  auto* top = new wxBoxSizer(wxHORIZONTAL);
  top->Add(header, 1, wxALIGN_CENTER_VERTICAL);
  top->Add(context_help, 0);
  auto* column = new wxBoxSizer(wxVERTICAL);
  column->Add(top, 0, wxEXPAND | wxALL, 4);
  column->Add(rules_scroll_, 1, wxEXPAND | wxLEFT | wxRIGHT | wxBOTTOM, 4);
  panel->SetSizer(column);
  return panel;
}

wxNotebook* MainFrame::build_views(wxWindow* parent) {
  auto* book = new wxNotebook(parent, wxID_ANY);

  problems_ = new wxListCtrl(book, wxID_ANY, wxDefaultPosition, wxDefaultSize,
                             wxLC_REPORT | wxLC_SINGLE_SEL);
  problems_->AppendColumn("Severity", wxLIST_FORMAT_LEFT, 80);
  problems_->AppendColumn("Problem", wxLIST_FORMAT_LEFT, 860);
  book->AddPage(problems_, "Problems");

  auto* preview_page = new wxPanel(book);
  policy_name_ = new wxTextCtrl(preview_page, wxID_ANY, to_wx(std::string(kPreviewPolicyName)));
  policy_name_->SetToolTip("The policy name Save as Xen ACM Security Policy and Deploy offer");
  policy_name_->Bind(wxEVT_TEXT, [this](wxCommandEvent&) {
    if (!refreshing_) refresh_views();
  });
  preview_ = new wxTextCtrl(preview_page, wxID_ANY, wxEmptyString, wxDefaultPosition, wxDefaultSize,
                            wxTE_MULTILINE | wxTE_READONLY | wxHSCROLL);
  preview_->SetFont(wxFont(wxFontInfo(9).Family(wxFONTFAMILY_TELETYPE)));
  auto* name_row = new wxBoxSizer(wxHORIZONTAL);
  name_row->Add(new wxStaticText(preview_page, wxID_ANY, "Policy name:"), 0,
                wxALIGN_CENTER_VERTICAL | wxRIGHT, 6);
  name_row->Add(policy_name_, 1);
  auto* preview_column = new wxBoxSizer(wxVERTICAL);
  preview_column->Add(name_row, 0, wxEXPAND | wxALL, 4);
  preview_column->Add(preview_, 1, wxEXPAND | wxLEFT | wxRIGHT | wxBOTTOM, 4);
  preview_page->SetSizer(preview_column);
  book->AddPage(preview_page, "Policy XML (read-only preview)");

  auto* explain_page = new wxPanel(book);
  explain_first_ = new wxChoice(explain_page, wxID_ANY);
  explain_second_ = new wxChoice(explain_page, wxID_ANY);
  explanation_ = new wxTextCtrl(explain_page, wxID_ANY, wxEmptyString, wxDefaultPosition,
                                wxDefaultSize, wxTE_MULTILINE | wxTE_READONLY);
  explain_first_->Bind(wxEVT_CHOICE, [this](wxCommandEvent&) { explain_selection(); });
  explain_second_->Bind(wxEVT_CHOICE, [this](wxCommandEvent&) { explain_selection(); });
  auto* pick_row = new wxBoxSizer(wxHORIZONTAL);
  pick_row->Add(new wxStaticText(explain_page, wxID_ANY, "Workload"), 0,
                wxALIGN_CENTER_VERTICAL | wxRIGHT, 6);
  pick_row->Add(explain_first_, 1, wxRIGHT, 6);
  pick_row->Add(new wxStaticText(explain_page, wxID_ANY, "and workload"), 0,
                wxALIGN_CENTER_VERTICAL | wxRIGHT, 6);
  pick_row->Add(explain_second_, 1);
  auto* explain_column = new wxBoxSizer(wxVERTICAL);
  explain_column->Add(pick_row, 0, wxEXPAND | wxALL, 4);
  explain_column->Add(explanation_, 1, wxEXPAND | wxLEFT | wxRIGHT | wxBOTTOM, 4);
  explain_page->SetSizer(explain_column);
  book->AddPage(explain_page, "Explain");
  return book;
}

// --- refreshing the view from the model ------------------------------------

void MainFrame::refresh() {
  refresh_tree();
  refresh_rules();
  refresh_views();
  update_controls();
  update_title();
}

void MainFrame::refresh_tree() {
  const std::vector<std::string> selected = selected_types();
  refreshing_ = true;
  tree_->DeleteChildren(tree_root_);
  for (const Organization& org : editor_.definition().organizations) {
    const wxTreeItemId org_item =
        tree_->AppendItem(tree_root_, to_wx(org.name), -1, -1, new WorkloadItem(org.name, {}));
    tree_->SetItemBold(org_item, true);
    for (const std::string& dept : org.departments) {
      tree_->AppendItem(org_item, to_wx(dept), -1, -1, new WorkloadItem(org.name, dept));
    }
    if (!collapsed_.contains(org.name) && !org.departments.empty()) tree_->Expand(org_item);
  }
  refreshing_ = false;
  select_types(selected);
}

void MainFrame::refresh_rules() {
  // The old boxes may belong to the button whose click is being handled:
  // hide them now and destroy them once the event is over.
  if (rules_inner_ != nullptr) {
    wxPanel* old = rules_inner_;
    rules_scroll_->GetSizer()->Detach(old);
    old->Hide();
    CallAfter([old] { old->Destroy(); });
  }
  rule_boxes_.clear();
  rules_inner_ = new wxPanel(rules_scroll_);
  auto* column = new wxBoxSizer(wxVERTICAL);
  const auto& rules = editor_.definition().rules;
  for (std::size_t index = 0; index < rules.size(); ++index) {
    const ExclusionRule& rule = rules[index];
    RuleBox box;
    box.panel = new wxPanel(rules_inner_);
    auto* frame = new wxStaticBoxSizer(wxHORIZONTAL, box.panel, to_wx(rule_title(rule)));
    wxWindow* in = frame->GetStaticBox();
    box.add = new wxButton(in, wxID_ANY, "--> Add");
    box.add->SetToolTip("Add Workload Selection To Run-time Exclusion rule");
    box.add->SetHelpText(help::kAddButton);
    box.remove = new wxButton(in, wxID_ANY, "<-- Del");
    box.remove->SetToolTip("Delete Workload Selection From Run-time Exclusion Rule");
    box.remove->SetHelpText(help::kDelButton);
    box.members =
        new wxListBox(in, wxID_ANY, wxDefaultPosition, wxSize(-1, 90), 0, nullptr, wxLB_EXTENDED);
    for (const std::string& member : rule.members)
      box.members->Append(to_wx(member));
    box.members->SetHelpText(help::kRuleMembers);
    box.menu = new wxButton(in, wxID_ANY, "...", wxDefaultPosition, wxDefaultSize, wxBU_EXACTFIT);
    box.menu->SetBitmap(wxArtProvider::GetBitmap(wxART_EDIT, wxART_BUTTON));
    box.menu->SetToolTip("Rename/Delete\nAssociated Run-time Exclusion Rule");
    box.menu->SetHelpText(help::kRuleMenuButton);

    box.add->Bind(wxEVT_BUTTON, [this, index](wxCommandEvent&) { add_to_rule(index); });
    box.remove->Bind(wxEVT_BUTTON, [this, index](wxCommandEvent&) { remove_from_rule(index); });
    box.menu->Bind(wxEVT_BUTTON, [this, index](wxCommandEvent&) {
      std::unique_ptr<wxMenu> menu = make_rule_menu();
      menu->Bind(wxEVT_MENU,
                 [this, index](wxCommandEvent& e) { run_rule_command(index, e.GetId()); });
      rule_boxes_[index].menu->PopupMenu(menu.get());
    });

    auto* buttons = new wxBoxSizer(wxVERTICAL);
    buttons->Add(box.add, 0, wxEXPAND | wxBOTTOM, 4);
    buttons->Add(box.remove, 0, wxEXPAND);
    frame->Add(buttons, 0, wxALL, 4);
    frame->Add(box.members, 1, wxEXPAND | wxALL, 4);
    frame->Add(box.menu, 0, wxALL, 4);
    box.panel->SetSizer(frame);
    column->Add(box.panel, 0, wxEXPAND | wxALL, 4);
    rule_boxes_.push_back(box);
  }
  rules_inner_->SetSizer(column);
  rules_scroll_->GetSizer()->Add(rules_inner_, 0, wxEXPAND);
  rules_scroll_->FitInside();
  rules_scroll_->Layout();
}

void MainFrame::refresh_views() {
  const WorkloadDefinition& definition = editor_.definition();
  std::string name = to_utf8(policy_name_->GetValue());
  if (name.empty()) name = std::string(kPreviewPolicyName);

  problems_->DeleteAllItems();
  for (const Problem& problem : find_problems(definition, name)) {
    const long row =
        problems_->InsertItem(problems_->GetItemCount(), severity_name(problem.severity));
    problems_->SetItem(row, 1, to_wx(problem.message));
    if (problem.severity == ProblemSeverity::error) problems_->SetItemTextColour(row, *wxRED);
  }
  views_->SetPageText(0, wxString::Format("Problems (%d)", problems_->GetItemCount()));

  auto xml = preview_policy_xml(definition, name, asctime_now());
  preview_->ChangeValue(
      xml ? to_wx(*xml)
          : to_wx("Save as Xen ACM Security Policy would refuse this definition:\n" +
                  xml.error().to_string()));

  // Keep the chosen labels when they still exist.
  const std::string first = to_utf8(explain_first_->GetStringSelection());
  const std::string second = to_utf8(explain_second_->GetStringSelection());
  explain_first_->Clear();
  explain_second_->Clear();
  for (const std::string& label : explainable_labels(definition)) {
    explain_first_->Append(to_wx(label));
    explain_second_->Append(to_wx(label));
  }
  explain_first_->SetStringSelection(to_wx(first));
  explain_second_->SetStringSelection(to_wx(second));
  explain_selection();
}

void MainFrame::explain_selection() {
  const std::string first = to_utf8(explain_first_->GetStringSelection());
  const std::string second = to_utf8(explain_second_->GetStringSelection());
  if (first.empty() || second.empty()) {
    explanation_->ChangeValue(
        "Pick two workload types: Explain says whether their domains may share (a common STE "
        "type) and may run at the same time (no run-time exclusion rule holds both), and which "
        "rule decides.");
    return;
  }
  auto answer = explain(editor_.definition(), first, second);
  explanation_->ChangeValue(answer ? to_wx(answer->to_text(first, second))
                                   : to_wx("Cannot explain: " + answer.error().to_string()));
}

void MainFrame::update_controls() {
  wxMenuBar* bar = GetMenuBar();
  wxArrayTreeItemIds selection;
  tree_->GetSelections(selection);
  bool any_department = false;
  for (const wxTreeItemId id : selection) {
    if (const WorkloadItem* data = item_data(tree_, id); data && data->is_department())
      any_department = true;
  }
  const std::size_t count = selection.size();
  // Edit menu (reference 7.3): organization -> all; department -> no Add;
  // several -> no Rename or Add; nothing -> none.
  bar->Enable(kIdRename, count == 1);
  bar->Enable(kIdAdd, count == 1 && !any_department);
  bar->Enable(kIdDelete, count >= 1);

  bar->Enable(kIdUndo, editor_.can_undo());
  bar->Enable(kIdRedo, editor_.can_redo());
  bar->SetLabel(kIdUndo, editor_.can_undo()
                             ? to_wx("&Undo " + editor_.undo_description() + "\tCtrl+Z")
                             : wxString("&Undo\tCtrl+Z"));
  bar->SetLabel(kIdRedo, editor_.can_redo()
                             ? to_wx("Re&do " + editor_.redo_description() + "\tCtrl+Y")
                             : wxString("Re&do\tCtrl+Y"));
}

void MainFrame::update_title() {
  std::string title;
  if (!current_file_.empty()) {
    title = "ezPolicy: " + current_file_;
  } else if (new_file_) {
    title = "ezPolicy: *New File*";
  } else {
    title = kInitialTitle;
  }
  if (editor_.modified()) title += " [modified]";
  SetTitle(to_wx(title));
}

// --- selection --------------------------------------------------------------

wxTreeItemId MainFrame::find_item(const std::string& type) const {
  wxTreeItemIdValue org_cookie;
  for (wxTreeItemId org = tree_->GetFirstChild(tree_root_, org_cookie); org.IsOk();
       org = tree_->GetNextChild(tree_root_, org_cookie)) {
    if (const WorkloadItem* data = item_data(tree_, org); data && data->type() == type) return org;
    wxTreeItemIdValue dept_cookie;
    for (wxTreeItemId dept = tree_->GetFirstChild(org, dept_cookie); dept.IsOk();
         dept = tree_->GetNextChild(org, dept_cookie)) {
      if (const WorkloadItem* data = item_data(tree_, dept); data && data->type() == type)
        return dept;
    }
  }
  return {};
}

void MainFrame::select_types(const std::vector<std::string>& types) {
  const bool was_refreshing = refreshing_;
  refreshing_ = true;
  tree_->UnselectAll();
  for (const std::string& type : types) {
    if (wxTreeItemId item = find_item(type); item.IsOk()) tree_->SelectItem(item, true);
  }
  refreshing_ = was_refreshing;
  if (!refreshing_) update_controls();
}

std::vector<std::string> MainFrame::selected_types() const {
  std::vector<std::string> types;
  if (tree_ == nullptr) return types;
  wxArrayTreeItemIds selection;
  tree_->GetSelections(selection);
  for (const wxTreeItemId id : selection) {
    if (const WorkloadItem* data = item_data(tree_, id)) types.push_back(data->type());
  }
  return types;
}

// --- context menus ----------------------------------------------------------

std::unique_ptr<wxMenu> MainFrame::make_tree_menu(const wxTreeItemId& item) const {
  auto menu = std::make_unique<wxMenu>();
  const WorkloadItem* data = item_data(tree_, item);
  if (data == nullptr) return menu;
  wxArrayTreeItemIds selection;
  tree_->GetSelections(selection);
  const bool several = selection.size() > 1;
  if (!data->is_department()) {
    const bool unlabeled = data->organization() == acm::kUnlabeled;
    menu->Append(kIdAdd, "Add Department\tCtrl+A");
    menu->AppendSeparator();
    menu->AppendSeparator();
    menu->Append(kIdRename, "Rename Organization\tCtrl+R");
    menu->Append(kIdDelete, "Delete Organization\tCtrl+D");
    // Reference 7.3: Add and Rename are disabled for several items and for
    // __UNLABELED__ (which can be deleted).
    menu->Enable(kIdAdd, !several && !unlabeled);
    menu->Enable(kIdRename, !several && !unlabeled);
  } else {
    menu->Append(kIdRename, "Rename Department\tCtrl+R");
    menu->Append(kIdDelete, "Delete Department\tCtrl+D");
    menu->Enable(kIdRename, !several);
  }
  return menu;
}

void MainFrame::on_tree_menu(wxTreeEvent& event) {
  const wxTreeItemId item = event.GetItem();
  const WorkloadItem* data = item_data(tree_, item);
  if (data == nullptr) return;
  const std::string type = data->type();
  if (!tree_->IsSelected(item)) {
    tree_->UnselectAll();
    tree_->SelectItem(item, true);
  }
  // Popped up once the tree's event is over: the menu's commands rebuild
  // the tree, which must not happen inside the tree's own event handling.
  CallAfter([this, type] {
    const wxTreeItemId clicked = find_item(type);
    if (!clicked.IsOk()) return;
    std::unique_ptr<wxMenu> menu = make_tree_menu(clicked);
    // The menu's commands reach the frame as ordinary wxEVT_MENU events.
    PopupMenu(menu.get());
  });
}

std::unique_ptr<wxMenu> MainFrame::make_rule_menu() const {
  auto menu = std::make_unique<wxMenu>();
  menu->Append(kIdRuleRename, "Rename Run-time Exclusion Rule");
  menu->AppendSeparator();
  menu->Append(kIdRuleDelete, "Delete Run-time Exclusion Rule");
  return menu;
}

void MainFrame::run_rule_command(std::size_t rule, int id) {
  if (rule >= editor_.definition().rules.size()) return;
  if (id == kIdRuleRename) {
    const std::string current = editor_.definition().rules[rule].name;
    auto name = prompter_.ask_text(kRenameRuleCaption,
                                   "Please enter a new name for the Conflict Set:", current);
    if (!name) return;
    if (report(editor_.rename_rule(rule, *name), kRenameRuleCaption,
               "Could not rename the run-time exclusion rule '" + current + "' to '" + *name + "'"))
      refresh();
  } else if (id == kIdRuleDelete) {
    const std::string title = rule_title(editor_.definition().rules[rule]);
    if (report(editor_.delete_rule(rule), "Deleting A Run-time Exclusion Rule",
               "Could not delete the run-time exclusion rule " + title)) {
      refresh();
      SetStatusText(to_wx("Deleted run-time exclusion rule " + title + " (Ctrl-Z undoes)"));
    }
  }
}

// --- commands ---------------------------------------------------------------

void MainFrame::on_command(wxCommandEvent& event) {
  switch (event.GetId()) {
    case kIdOpen:
      open_definition();
      break;
    case kIdOpenPolicy:
      open_policy_dialog();
      break;
    case kIdSave:
      (void)save_definition();
      break;
    case kIdSaveAs:
      (void)save_definition_as();
      break;
    case kIdSavePolicy:
      save_as_policy();
      break;
    case kIdDeploy:
      deploy();
      break;
    case kIdNew:
      new_definition();
      break;
    case kIdExit:
      Close();
      break;
    case kIdUndo:
      undo();
      break;
    case kIdRedo:
      redo();
      break;
    case kIdRename:
      rename_selected();
      break;
    case kIdAdd:
      add_department();
      break;
    case kIdDelete:
      delete_selected();
      break;
    case kIdSortAll:
      if (report(editor_.sort_departments(), "Sort All", "Could not sort the departments"))
        refresh();
      break;
    case kIdCollapseAll:
      for (const Organization& org : editor_.definition().organizations)
        collapsed_.insert(org.name);
      refresh_tree();
      break;
    case kIdExpandAll:
      collapsed_.clear();
      refresh_tree();
      break;
    case kIdHelp:
      show_help();
      break;
    case kIdAbout:
      show_about();
      break;
    case kIdNewOrg:
      new_organization();
      break;
    case kIdCreateRule:
      create_rule();
      break;
    default:
      event.Skip();
      break;
  }
}

bool MainFrame::report(const acm::Status& status, const std::string& caption,
                       const std::string& what) {
  if (status) return true;
  prompter_.show_error(caption, what + ":\n" + status.error().to_string());
  return false;
}

void MainFrame::new_organization() {
  auto name = prompter_.ask_text(kNamingCaption, kNamingMessage, "");
  if (!name || name->empty()) return;
  if (!report(editor_.add_organization(*name), kNamingCaption,
              "Could not add the organization '" + *name + "'"))
    return;
  refresh();
  select_types({*name});
}

void MainFrame::add_department() {
  wxArrayTreeItemIds selection;
  tree_->GetSelections(selection);
  const WorkloadItem* data = selection.size() == 1 ? item_data(tree_, selection[0]) : nullptr;
  if (data == nullptr || data->is_department()) {
    prompter_.show_error(kNamingCaption, "Select one organization to add a department to it.");
    return;
  }
  const std::string org = data->organization();
  auto name = prompter_.ask_text(kNamingCaption, kNamingMessage, "");
  if (!name || name->empty()) return;
  if (!report(editor_.add_department(org, *name), kNamingCaption,
              "Could not add the department '" + *name + "' to '" + org + "'"))
    return;
  collapsed_.erase(org);
  refresh();
  select_types({workload_type(org, *name)});
}

void MainFrame::rename_selected() {
  wxArrayTreeItemIds selection;
  tree_->GetSelections(selection);
  const WorkloadItem* data = selection.size() == 1 ? item_data(tree_, selection[0]) : nullptr;
  if (data == nullptr) {
    prompter_.show_error("Rename", "Select one organization or department to rename it.");
    return;
  }
  const std::string org = data->organization();
  const std::string dept = data->department();
  auto name =
      prompter_.ask_text(kNamingCaption, kNamingMessage, data->is_department() ? dept : org);
  if (!name || name->empty()) return;
  if (dept.empty()) {
    if (!report(editor_.rename_organization(org, *name), "Rename",
                "Could not rename the organization '" + org + "' to '" + *name + "'"))
      return;
    if (collapsed_.erase(org) > 0) collapsed_.insert(*name);
    refresh();
    select_types({*name});
  } else {
    if (!report(editor_.rename_department(org, dept, *name), "Rename",
                "Could not rename the department '" + workload_type(org, dept) + "' to '" + *name +
                    "'"))
      return;
    refresh();
    select_types({workload_type(org, *name)});
  }
}

void MainFrame::delete_selected() {
  wxArrayTreeItemIds selection;
  tree_->GetSelections(selection);
  std::vector<std::pair<std::string, std::string>> departments;
  std::vector<std::string> organizations;
  for (const wxTreeItemId id : selection) {
    const WorkloadItem* data = item_data(tree_, id);
    if (data == nullptr) continue;
    if (data->is_department())
      departments.emplace_back(data->organization(), data->department());
    else
      organizations.push_back(data->organization());
  }
  if (departments.empty() && organizations.empty()) return;
  // Departments of an organization that goes anyway need no step of their own.
  for (const auto& [org, dept] : departments) {
    if (std::find(organizations.begin(), organizations.end(), org) != organizations.end()) continue;
    if (!report(editor_.delete_department(org, dept), "Delete",
                "Could not delete the department '" + workload_type(org, dept) + "'"))
      break;
  }
  for (const std::string& org : organizations) {
    if (!report(editor_.delete_organization(org), "Delete",
                "Could not delete the organization '" + org + "'"))
      break;
  }
  refresh();
}

void MainFrame::create_rule() {
  const std::vector<std::string> types = selected_types();
  if (types.empty()) {
    prompter_.show_error("Creating A New Run-time  Rule",
                         "You must select first at least one Organization/Department workload!");
    return;
  }
  if (auto ok = check_selection(editor_.definition(), types); !ok) {
    prompter_.show_error(
        kCreateRuleCaption,
        ok.error().message +
            "\n\nYou can only select EITHER an Organization OR specific Department!");
    return;
  }
  auto name = prompter_.ask_text(kCreateRuleCaption,
                                 "Please enter a name for the Run-time Exclusion Rule:", "");
  if (!name) return;
  auto created = editor_.create_rule(*name, types);
  if (!created) {
    prompter_.show_error(kCreateRuleCaption, "Could not create the run-time exclusion rule:\n" +
                                                 created.error().to_string());
    return;
  }
  refresh();
  SetStatusText(to_wx("Created run-time exclusion rule with " + join(types, ", ")));
}

void MainFrame::add_to_rule(std::size_t rule) {
  if (rule >= editor_.definition().rules.size()) return;
  const std::vector<std::string> types = selected_types();
  if (types.empty()) {
    prompter_.show_error(kAddToRuleCaption,
                         "Select the organizations or departments to add in the tree first.");
    return;
  }
  const ExclusionRule& current = editor_.definition().rules[rule];
  std::vector<std::string> present;
  for (const std::string& type : types) {
    if (std::find(current.members.begin(), current.members.end(), type) != current.members.end())
      present.push_back(type);
  }
  if (!present.empty()) {
    const std::string message =
        present.size() == 1
            ? "Selected item [" + present[0] +
                  "] is already in the Run-time Exclusion rule and will be ignored.\n\n Continue?"
            : "Selected items [" + join(present, ", ") +
                  "] are already in the Run-time Exclusion rule and will be ignored.\n\n Continue?";
    if (prompter_.ask(kAddToRuleCaption, message, false) != Answer::yes) return;
  }
  auto added = editor_.add_to_rule(rule, types);
  if (!added) {
    prompter_.show_error(kAddToRuleCaption,
                         "Could not add " + join(types, ", ") + " to the rule:\n" +
                             added.error().to_string() +
                             "\n\nYou can only have EITHER an Organization OR a specific "
                             "Department workload in a single Run-time Exclusion Rule");
    return;
  }
  refresh();
}

void MainFrame::remove_from_rule(std::size_t rule) {
  if (rule >= rule_boxes_.size() || rule >= editor_.definition().rules.size()) return;
  wxArrayInt picked;
  rule_boxes_[rule].members->GetSelections(picked);
  std::vector<std::string> members;
  for (int index : picked)
    members.push_back(
        to_utf8(rule_boxes_[rule].members->GetString(static_cast<unsigned int>(index))));
  if (members.empty()) {
    prompter_.show_error(kDelFromRuleCaption,
                         "Select the members to delete in the rule's list first.");
    return;
  }
  if (!report(editor_.remove_from_rule(rule, members), kDelFromRuleCaption,
              "Could not delete " + join(members, ", ") + " from the rule"))
    return;
  const auto& rules = editor_.definition().rules;
  if (rule < rules.size() && rules[rule].members.size() < 2 &&
      prompter_.ask(kDelFromRuleCaption,
                    "Run-time exclusion set has less than two types. A rule with one type "
                    "excludes nothing and is left out of the policy. Do you want to delete this "
                    "rule?",
                    false) == Answer::yes) {
    (void)report(editor_.delete_rule(rule), kDelFromRuleCaption, "Could not delete the rule");
  }
  refresh();
}

void MainFrame::undo() {
  if (!editor_.can_undo()) return;
  const std::string what = editor_.undo_description();
  if (report(editor_.undo(), "Undo", "Could not undo")) {
    refresh();
    SetStatusText(to_wx("Undone: " + what));
  }
}

void MainFrame::redo() {
  if (!editor_.can_redo()) return;
  const std::string what = editor_.redo_description();
  if (report(editor_.redo(), "Redo", "Could not redo")) {
    refresh();
    SetStatusText(to_wx("Redone: " + what));
  }
}

// --- files --------------------------------------------------------------------

bool MainFrame::settle_unsaved_changes(const std::string& caption) {
  if (!editor_.modified()) return true;
  const std::string file = current_file_.empty() ? "the workload definition" : current_file_;
  switch (prompter_.ask(caption, "Save the changes to " + file + " first?", true)) {
    case Answer::yes:
      return save_definition();
    case Answer::no:
      return true;
    case Answer::cancel:
      return false;
  }
  return false;
}

PolicyFrame* MainFrame::open_policy(const std::string& path) {
  auto* frame = new PolicyFrame(this, prompter_, root_);
  if (!frame->open_policy(path)) {
    frame->Destroy();
    return nullptr;
  }
  frame->Show();
  return frame;
}

void MainFrame::open_policy_dialog() {
  auto path = prompter_.choose_file_to_open(
      FileRequest{"Select an XML security policy to refine", "", "",
                  "XML security policies (*.xml)|*.xml|All files (*)|*"});
  if (path) (void)open_policy(*path);
}

void MainFrame::new_definition() {
  if (!settle_unsaved_changes("New")) return;
  if (!report(editor_.reset(WorkloadDefinition::initial()), "New", "Could not start anew")) return;
  current_file_.clear();
  new_file_ = true;
  collapsed_.clear();
  refresh();
}

bool MainFrame::open_file(const std::string& path) {
  auto loaded = load_wld_file(path);
  if (!loaded) {
    prompter_.show_error("Open Workload Definition",
                         "Could not open " + path + ":\n" + loaded.error().to_string() +
                             "\n\nThe current workload definition is kept.");
    return false;
  }
  if (!report(editor_.reset(std::move(*loaded)), "Open Workload Definition",
              "Could not open " + path))
    return false;
  current_file_ = path;
  new_file_ = false;
  collapsed_.clear();
  refresh();
  SetStatusText(to_wx("Opened " + path));
  return true;
}

void MainFrame::open_definition() {
  if (!settle_unsaved_changes("Open Workload Definition")) return;
  FileRequest request{"Select Workload Definition file name", "", "myspec.wld", kWldWildcard};
  if (!current_file_.empty()) {
    const std::filesystem::path current(current_file_);
    request.default_directory = current.parent_path().string();
  }
  auto path = prompter_.choose_file_to_open(request);
  if (!path) return;
  (void)open_file(*path);
}

bool MainFrame::write_definition(const std::string& path) {
  if (auto ok = save_wld_file(path, editor_.definition()); !ok) {
    prompter_.show_error("Save Workload Definition",
                         "Could not save " + path + ":\n" + ok.error().to_string() +
                             "\n\nNothing was written; the file is as it was.");
    return false;
  }
  editor_.mark_saved();
  current_file_ = path;
  new_file_ = false;
  update_title();
  SetStatusText(to_wx("Saved " + path));
  return true;
}

bool MainFrame::save_definition() {
  if (current_file_.empty()) return save_definition_as();
  return write_definition(current_file_);
}

bool MainFrame::save_definition_as() {
  FileRequest request{"Select Workload Definition file name", "",
                      current_file_.empty() ? "DEFAULT.wld" : current_file_, kWldWildcard};
  if (!current_file_.empty()) {
    const std::filesystem::path current(current_file_);
    request.default_directory = current.parent_path().string();
    request.default_file = current.filename().string();
  }
  auto path = prompter_.choose_file_to_save(request);
  if (!path) return false;
  return write_definition(*path);
}

std::string MainFrame::ask_policy_name(const std::string& caption) {
  std::string initial = to_utf8(policy_name_->GetValue());
  auto name = prompter_.ask_text(
      caption, "POLICYNAME (a dotted name such as mytest or example.chwall):", initial);
  if (!name || name->empty()) return {};
  if (*name != initial) policy_name_->ChangeValue(to_wx(*name));
  return *name;
}

void MainFrame::save_as_policy() {
  const std::string name = ask_policy_name(kTranslateCaption);
  if (name.empty()) return;
  const std::filesystem::path path = policy_path(root_, name);
  auto translation = translate(editor_.definition(), name);
  if (!translation) {
    prompter_.show_error(kTranslateCaption,
                         "Could not translate the workload definition into "
                         "policy '" +
                             name + "' (" + path.string() + "):\n" +
                             translation.error().to_string());
    return;
  }
  if (auto ok = write_policy_file(path, *translation); !ok) {
    prompter_.show_error(kTranslateCaption,
                         "Could not write " + path.string() + ":\n" + ok.error().to_string());
    return;
  }
  std::string message = "Wrote policy '" + name + "' to\n" + path.string();
  if (!translation->warnings.empty())
    message += "\n\nWarnings:\n" + translation->warnings.to_string();
  message += "\n\nTo use it: xm setpolicy ACM " + name + " (or File > Deploy Policy to xend)";
  prompter_.show_info(kTranslateCaption, message);
  refresh_views();
  SetStatusText(to_wx("Wrote " + path.string()));
}

void MainFrame::deploy() {
  const std::string name = ask_policy_name(kDeployCaption);
  if (name.empty()) return;
  const std::filesystem::path path = policy_path(root_, name);
  auto translation = translate(editor_.definition(), name);
  if (!translation) {
    prompter_.show_error(kDeployCaption,
                         "Could not translate the workload definition into "
                         "policy '" +
                             name + "':\n" + translation.error().to_string());
    return;
  }
  // xend reads policies from the administrators' directory too, and
  // `xm setpolicy` later finds the same file there.
  if (auto ok = write_policy_file(path, *translation); !ok) {
    prompter_.show_error(kDeployCaption,
                         "Could not write " + path.string() + ":\n" + ok.error().to_string());
    return;
  }
  DeployOutcome outcome;
  {
    wxBusyCursor busy;
    outcome = deploy_policy(DeployRequest{
        root_, translation->xml, "/etc/xen/acm-security/policies/" + acm::policy_file_path(name),
        std::chrono::seconds(60)});
  }
  std::string message = outcome.message;
  for (const std::string& warning : outcome.warnings)
    message += "\nWarning: " + warning;
  if (outcome.ok) {
    prompter_.show_info(kDeployCaption, "xend's answer for policy '" + name + "' (" +
                                            path.string() + "):\n\n" + message);
  } else {
    prompter_.show_error(kDeployCaption, "xend did not set policy '" + name + "' (" +
                                             path.string() + "):\n\n" + message);
  }
}

void MainFrame::show_help() {
  auto* frame = new wxFrame(this, wxID_ANY, "HELP: Creating a Xen Security Policy in 3 Steps",
                            wxDefaultPosition, wxSize(650, 650));
  help::create_help_view(frame);
  frame->Show();
}

void MainFrame::show_about() {
  prompter_.show_info("About Me", help::kAbout);
}

void MainFrame::on_close(wxCloseEvent& event) {
  // Open policy views first: each asks about its own unsaved changes.
  for (wxWindow* child : GetChildren()) {
    auto* view = dynamic_cast<PolicyFrame*>(child);
    if (view != nullptr && event.CanVeto() && !view->Close()) {
      event.Veto();
      return;
    }
  }
  if (event.CanVeto() && !settle_unsaved_changes("Exit")) {
    event.Veto();
    return;
  }
  Destroy();
}

}  // namespace shype::ezpolicy::gui
