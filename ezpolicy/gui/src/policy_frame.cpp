#include "ezpolicy/gui/policy_frame.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

#include <wx/button.h>
#include <wx/choice.h>
#include <wx/listbox.h>
#include <wx/menu.h>
#include <wx/notebook.h>
#include <wx/panel.h>
#include <wx/sizer.h>
#include <wx/stattext.h>
#include <wx/textctrl.h>
#include <wx/utils.h>

#include "acm/file_io.hpp"
#include "ezpolicy/gui/deploy.hpp"
#include "ezpolicy/gui/policy_views.hpp"
#include "ezpolicy/gui/workload_views.hpp"
#include "ezpolicy/translator.hpp"
#include "wx_strings.hpp"

namespace shype::ezpolicy::gui {
namespace {

constexpr const char* kPolicyWildcard = "XML security policies (*.xml)|*.xml|All files (*)|*";
constexpr const char* kSteMember = "STE: ";
constexpr const char* kChwallMember = "CHWALL: ";

std::string pq(const std::string& s) {
  return "'" + s + "'";
}

// "a, b  c" -> {"a", "b", "c"}
std::vector<std::string> split_names(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  for (char c : text) {
    if (c == ',' || c == ' ' || c == '\t' || c == '\n') {
      if (!current.empty()) out.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (!current.empty()) out.push_back(std::move(current));
  return out;
}

std::string joined(const std::vector<acm::NamedItem>& items) {
  std::string out;
  for (const acm::NamedItem& item : items) {
    if (!out.empty()) out += ", ";
    out += item.name;
  }
  return out;
}

void fill(wxListBox* list, const std::vector<std::string>& entries) {
  const int old = list->GetSelection();
  list->Clear();
  for (const std::string& e : entries)
    list->Append(to_wx(e));
  if (old != wxNOT_FOUND && !entries.empty()) {
    list->SetSelection(std::min(old, static_cast<int>(entries.size()) - 1));
  }
}

std::vector<std::string> item_names(const std::vector<acm::NamedItem>& items) {
  std::vector<std::string> out;
  for (const acm::NamedItem& i : items)
    out.push_back(i.name);
  return out;
}

std::vector<std::string> label_names(const std::vector<acm::Label>& labels) {
  std::vector<std::string> out;
  for (const acm::Label& l : labels)
    out.push_back(l.name);
  return out;
}

}  // namespace

PolicyFrame::PolicyFrame(wxWindow* parent, Prompter& prompter, std::filesystem::path root)
    : wxFrame(parent, wxID_ANY, "ezPolicy: Refine Policy", wxDefaultPosition, wxSize(1000, 760)),
      prompter_(prompter),
      root_(std::move(root)) {
  build_menus();
  build_layout();
  CreateStatusBar();
  Bind(wxEVT_MENU, &PolicyFrame::on_command, this);
  Bind(wxEVT_BUTTON, &PolicyFrame::on_command, this);
  Bind(wxEVT_LISTBOX, &PolicyFrame::on_selection, this);
  Bind(wxEVT_CHOICE, &PolicyFrame::on_selection, this);
  Bind(wxEVT_CLOSE_WINDOW, &PolicyFrame::on_close, this);
  refresh();
}

void PolicyFrame::build_menus() {
  auto* file = new wxMenu;
  file->Append(kPolicyOpen, "&Open Policy (XML)...\tCtrl+O");
  file->Append(kPolicySave, "&Save Policy\tCtrl+S");
  file->Append(kPolicySaveAs, "Save Policy &as...\tAlt+S");
  file->AppendSeparator();
  file->Append(kPolicyDeploy, "&Deploy Policy to xend...",
               "Save the policy, then set it as the running policy (xm setpolicy)");
  file->AppendSeparator();
  file->Append(kPolicyClose, "&Close\tCtrl+W");
  auto* edit = new wxMenu;
  edit->Append(kPolicyUndo, "&Undo\tCtrl+Z");
  edit->Append(kPolicyRedo, "Re&do\tCtrl+Y");
  auto* bar = new wxMenuBar;
  bar->Append(file, "&File");
  bar->Append(edit, "&Edit");
  SetMenuBar(bar);
}

void PolicyFrame::build_layout() {
  auto* panel = new wxPanel(this);
  auto* top = new wxBoxSizer(wxVERTICAL);

  // Header row.
  auto* head = new wxBoxSizer(wxHORIZONTAL);
  header_ = new wxStaticText(panel, wxID_ANY, "");
  head->Add(header_, 1, wxALIGN_CENTER_VERTICAL | wxALL, 4);
  auto add_button = [&](wxWindow* parent, wxSizer* sizer, int id, const char* text) {
    auto* b = new wxButton(parent, id, text);
    sizer->Add(b, 0, wxALL, 2);
    buttons_.push_back(b);
  };
  add_button(panel, head, kHeaderName, "Name...");
  add_button(panel, head, kHeaderVersion, "Version...");
  add_button(panel, head, kHeaderFromPolicy, "FromPolicy...");
  add_button(panel, head, kHeaderMakeUpdate, "Make Update");
  head->Add(new wxStaticText(panel, wxID_ANY, "Bootstrap label:"), 0,
            wxALIGN_CENTER_VERTICAL | wxLEFT, 8);
  bootstrap_ = new wxChoice(panel, kBootstrapChoice);
  head->Add(bootstrap_, 0, wxALL, 2);
  top->Add(head, 0, wxEXPAND);

  // The lists.
  pages_ = new wxNotebook(panel, wxID_ANY);
  auto make_page = [&](const char* title, bool with_members,
                       std::vector<std::pair<int, const char*>> commands) {
    auto* page = new wxPanel(pages_);
    auto* sizer = new wxBoxSizer(wxVERTICAL);
    auto* lists = new wxBoxSizer(wxHORIZONTAL);
    PolicyListPage result;
    result.items = new wxListBox(page, wxID_ANY);
    lists->Add(result.items, 1, wxEXPAND | wxALL, 2);
    if (with_members) {
      result.members = new wxListBox(page, wxID_ANY);
      lists->Add(result.members, 1, wxEXPAND | wxALL, 2);
    }
    sizer->Add(lists, 1, wxEXPAND);
    auto* row = new wxBoxSizer(wxHORIZONTAL);
    for (const auto& [id, text] : commands)
      add_button(page, row, id, text);
    sizer->Add(row, 0);
    page->SetSizer(sizer);
    pages_->AddPage(page, title);
    return result;
  };
  ste_ = make_page("STE types", false,
                   {{kSteAdd, "Add..."}, {kSteRename, "Rename..."}, {kSteDelete, "Delete"}});
  chwall_ =
      make_page("Chinese Wall types", false,
                {{kChwallAdd, "Add..."}, {kChwallRename, "Rename..."}, {kChwallDelete, "Delete"}});
  vm_ = make_page("VM labels", true,
                  {{kVmAdd, "Add..."},
                   {kVmRename, "Rename..."},
                   {kVmDelete, "Delete"},
                   {kVmAddSte, "Add STE type..."},
                   {kVmAddChwall, "Add CHWALL type..."},
                   {kVmRemoveType, "Remove type"}});
  res_ = make_page("Resource labels", true,
                   {{kResAdd, "Add..."},
                    {kResRename, "Rename..."},
                    {kResDelete, "Delete"},
                    {kResChangeSte, "Change STE type..."}});
  sets_ = make_page("Conflict sets", true,
                    {{kSetAdd, "Add..."},
                     {kSetRename, "Rename..."},
                     {kSetDelete, "Delete"},
                     {kSetAddMembers, "Add types..."},
                     {kSetRemoveMember, "Remove type"}});
  top->Add(pages_, 3, wxEXPAND | wxALL, 2);

  // Problems, preview, Explain.
  auto* views = new wxNotebook(panel, wxID_ANY);
  problems_ = new wxListBox(views, wxID_ANY);
  views->AddPage(problems_, "Problems");
  preview_ = new wxTextCtrl(views, wxID_ANY, "", wxDefaultPosition, wxDefaultSize,
                            wxTE_MULTILINE | wxTE_READONLY | wxHSCROLL);
  views->AddPage(preview_, "Policy XML (read-only preview)");
  auto* explain = new wxPanel(views);
  auto* esizer = new wxBoxSizer(wxVERTICAL);
  auto* erow = new wxBoxSizer(wxHORIZONTAL);
  explain_first_ = new wxChoice(explain, kExplainFirst);
  explain_second_ = new wxChoice(explain, kExplainSecond);
  erow->Add(new wxStaticText(explain, wxID_ANY, "VM label"), 0, wxALIGN_CENTER_VERTICAL | wxALL, 2);
  erow->Add(explain_first_, 0, wxALL, 2);
  erow->Add(new wxStaticText(explain, wxID_ANY, "and"), 0, wxALIGN_CENTER_VERTICAL | wxALL, 2);
  erow->Add(explain_second_, 0, wxALL, 2);
  esizer->Add(erow, 0);
  explanation_ = new wxTextCtrl(explain, wxID_ANY, "", wxDefaultPosition, wxDefaultSize,
                                wxTE_MULTILINE | wxTE_READONLY);
  esizer->Add(explanation_, 1, wxEXPAND | wxALL, 2);
  explain->SetSizer(esizer);
  views->AddPage(explain, "Explain");
  top->Add(views, 2, wxEXPAND | wxALL, 2);
  panel->SetSizer(top);
}

wxButton* PolicyFrame::button(int id) const {
  for (wxButton* b : buttons_) {
    if (b->GetId() == id) return b;
  }
  return nullptr;
}

// --- refresh -----------------------------------------------------------------

void PolicyFrame::refresh() {
  refreshing_ = true;
  const acm::PolicyModel& p = editor_.policy();
  const bool open = editor_.has_policy();
  fill(ste_.items, p.ste ? item_names(p.ste->types) : std::vector<std::string>{});
  fill(chwall_.items, p.chwall ? item_names(p.chwall->types) : std::vector<std::string>{});
  fill(vm_.items, label_names(p.vm_labels));
  fill(res_.items, label_names(p.resource_labels));
  std::vector<std::string> sets;
  if (p.chwall) {
    for (const acm::ConflictSet& set : p.chwall->conflict_sets) {
      sets.push_back(set.name + "  [" + joined(set.types) + "]");
    }
  }
  fill(sets_.items, sets);
  refresh_members();

  std::string head;
  if (open) {
    head = "Policy " + p.header.name + ", version " + p.header.version.to_string();
    head += p.header.from_policy ? ", FromPolicy " + p.header.from_policy->name + " " +
                                       p.header.from_policy->version.to_string()
                                 : ", no FromPolicy";
  } else {
    head = "No policy open (File > Open Policy (XML)...)";
  }
  header_->SetLabel(to_wx(head));
  const std::vector<std::string> vms = vm_label_names(p);
  bootstrap_->Clear();
  for (const std::string& name : vms)
    bootstrap_->Append(to_wx(name));
  bootstrap_->SetStringSelection(to_wx(p.bootstrap.name));
  for (wxButton* b : buttons_)
    b->Enable(open);
  bootstrap_->Enable(open);

  problems_->Clear();
  for (const Problem& problem : find_policy_problems(editor_)) {
    problems_->Append(to_wx(std::string(severity_name(problem.severity)) + ": " + problem.message));
  }
  preview_->ChangeValue(open ? to_wx(editor_.xml()) : wxString());

  for (wxChoice* choice : {explain_first_, explain_second_}) {
    const wxString old = choice->GetStringSelection();
    choice->Clear();
    for (const std::string& name : vms)
      choice->Append(to_wx(name));
    if (!old.empty()) choice->SetStringSelection(old);
  }
  refreshing_ = false;
  explain_selection();

  wxMenuBar* bar = GetMenuBar();
  bar->Enable(kPolicySave, open);
  bar->Enable(kPolicySaveAs, open);
  bar->Enable(kPolicyDeploy, open);
  bar->Enable(kPolicyUndo, editor_.can_undo());
  bar->Enable(kPolicyRedo, editor_.can_redo());
  bar->SetLabel(kPolicyUndo,
                to_wx(editor_.can_undo() ? "&Undo " + editor_.undo_description() + "\tCtrl+Z"
                                         : std::string("&Undo\tCtrl+Z")));
  bar->SetLabel(kPolicyRedo,
                to_wx(editor_.can_redo() ? "Re&do " + editor_.redo_description() + "\tCtrl+Y"
                                         : std::string("Re&do\tCtrl+Y")));
  update_title();
}

void PolicyFrame::refresh_members() {
  const acm::PolicyModel& p = editor_.policy();
  auto show_label = [&](const PolicyListPage& page, const std::vector<acm::Label>& labels) {
    std::vector<std::string> members;
    const int at = page.items->GetSelection();
    if (at != wxNOT_FOUND && static_cast<std::size_t>(at) < labels.size()) {
      for (const acm::NamedItem& t : labels[static_cast<std::size_t>(at)].ste_types)
        members.push_back(kSteMember + t.name);
      for (const acm::NamedItem& t : labels[static_cast<std::size_t>(at)].chwall_types)
        members.push_back(kChwallMember + t.name);
    }
    fill(page.members, members);
  };
  show_label(vm_, p.vm_labels);
  show_label(res_, p.resource_labels);
  std::vector<std::string> members;
  const int at = sets_.items->GetSelection();
  if (p.chwall && at != wxNOT_FOUND &&
      static_cast<std::size_t>(at) < p.chwall->conflict_sets.size()) {
    members = item_names(p.chwall->conflict_sets[static_cast<std::size_t>(at)].types);
  }
  fill(sets_.members, members);
}

void PolicyFrame::update_title() {
  std::string title = "ezPolicy: Refine Policy";
  if (editor_.has_policy()) title += " " + editor_.file().string();
  if (editor_.modified()) title += " [modified]";
  SetTitle(to_wx(title));
}

void PolicyFrame::explain_selection() {
  const std::string a = to_utf8(explain_first_->GetStringSelection());
  const std::string b = to_utf8(explain_second_->GetStringSelection());
  if (a.empty() || b.empty() || !editor_.has_policy()) {
    explanation_->ChangeValue("Pick two VM labels.");
    return;
  }
  auto answer = explain_policy(editor_.policy(), a, b);
  explanation_->ChangeValue(answer ? to_wx(answer->to_text(a, b))
                                   : to_wx("Cannot explain: " + answer.error().to_string()));
}

void PolicyFrame::on_selection(wxCommandEvent& event) {
  if (refreshing_) return;
  if (event.GetId() == kBootstrapChoice) {
    const std::string name = to_utf8(bootstrap_->GetStringSelection());
    report(editor_.set_bootstrap(name), "Bootstrap Label",
           "Could not make " + pq(name) + " the bootstrap label");
    refresh();
    return;
  }
  if (event.GetId() == kExplainFirst || event.GetId() == kExplainSecond) {
    explain_selection();
    return;
  }
  refresh_members();
}

// --- commands ------------------------------------------------------------------

bool PolicyFrame::report(const acm::Status& status, const std::string& caption,
                         const std::string& what) {
  if (status) return true;
  prompter_.show_error(caption, what + ":\n" + status.error().to_string());
  return false;
}

std::string PolicyFrame::selected(const PolicyListPage& page) const {
  return to_utf8(page.items->GetStringSelection());
}

std::optional<std::string> PolicyFrame::ask(const std::string& caption, const std::string& message,
                                            const std::string& initial) {
  auto text = prompter_.ask_text(caption, message, initial);
  if (!text || text->empty()) return std::nullopt;
  return text;
}

void PolicyFrame::run_command(int id) {
  switch (id) {
    case kPolicyOpen:
      open_policy_dialog();
      break;
    case kPolicySave:
      (void)save_policy();
      break;
    case kPolicySaveAs:
      (void)save_policy_as();
      break;
    case kPolicyDeploy:
      deploy();
      break;
    case kPolicyClose:
      Close();
      return;
    case kPolicyUndo:
      report(editor_.undo(), "Undo", "Nothing to undo");
      break;
    case kPolicyRedo:
      report(editor_.redo(), "Redo", "Nothing to redo");
      break;
    case kSteAdd:
    case kSteRename:
    case kSteDelete:
      types_command(id, TypeKind::ste);
      break;
    case kChwallAdd:
    case kChwallRename:
    case kChwallDelete:
      types_command(id, TypeKind::chwall);
      break;
    case kVmAdd:
    case kVmRename:
    case kVmDelete:
    case kVmAddSte:
    case kVmAddChwall:
    case kVmRemoveType:
      vm_command(id);
      break;
    case kResAdd:
    case kResRename:
    case kResDelete:
    case kResChangeSte:
      resource_command(id);
      break;
    case kSetAdd:
    case kSetRename:
    case kSetDelete:
    case kSetAddMembers:
    case kSetRemoveMember:
      conflict_command(id);
      break;
    case kHeaderName:
    case kHeaderVersion:
    case kHeaderFromPolicy:
    case kHeaderMakeUpdate:
      header_command(id);
      break;
    default:
      return;
  }
  refresh();
}

void PolicyFrame::on_command(wxCommandEvent& event) {
  if (event.GetId() < kPolicyOpen || event.GetId() > kHeaderMakeUpdate) {
    event.Skip();
    return;
  }
  run_command(event.GetId());
}

void PolicyFrame::types_command(int id, TypeKind kind) {
  const std::string what = std::string(to_string(kind)) + " type";
  const std::string caption = std::string(to_string(kind)) + " Types";
  const PolicyListPage& page = kind == TypeKind::ste ? ste_ : chwall_;
  const std::string current = selected(page);
  if (id == kSteAdd || id == kChwallAdd) {
    auto name = ask(caption, "Name of the new " + what + ":");
    if (name)
      report(editor_.add_type(kind, *name), caption, "Could not add " + what + " " + pq(*name));
    return;
  }
  if (current.empty()) {
    prompter_.show_error(caption, "Select " + what + " first.");
    return;
  }
  if (id == kSteRename || id == kChwallRename) {
    auto name = ask(
        caption,
        "New name of " + what + " " + pq(current) + " (labels and conflict sets follow):", current);
    if (name) {
      report(editor_.rename_type(kind, current, *name), caption,
             "Could not rename " + what + " " + pq(current) + " to " + pq(*name));
    }
    return;
  }
  report(editor_.delete_type(kind, current), caption,
         "Could not delete " + what + " " + pq(current));
}

void PolicyFrame::vm_command(int id) {
  const std::string caption = "VM Labels";
  const std::string current = selected(vm_);
  if (id == kVmAdd) {
    auto name = ask(caption, "Name of the new VM label:");
    if (name)
      report(editor_.add_label(LabelKind::vm, *name), caption,
             "Could not add VM label " + pq(*name));
    return;
  }
  if (current.empty()) {
    prompter_.show_error(caption, "Select a VM label first.");
    return;
  }
  switch (id) {
    case kVmRename: {
      auto name = ask(caption, "New name of VM label " + pq(current) + ":", current);
      if (name) {
        report(editor_.rename_label(LabelKind::vm, current, *name), caption,
               "Could not rename VM label " + pq(current) + " to " + pq(*name));
      }
      break;
    }
    case kVmDelete:
      report(editor_.delete_label(LabelKind::vm, current), caption,
             "Could not delete VM label " + pq(current));
      break;
    case kVmAddSte:
    case kVmAddChwall: {
      const TypeKind kind = id == kVmAddSte ? TypeKind::ste : TypeKind::chwall;
      auto type = ask(
          caption, std::string(to_string(kind)) + " type to add to VM label " + pq(current) + ":");
      if (type) {
        report(editor_.add_label_type(LabelKind::vm, current, kind, *type), caption,
               "Could not add " + std::string(to_string(kind)) + " type " + pq(*type) +
                   " to VM label " + pq(current));
      }
      break;
    }
    case kVmRemoveType: {
      const std::string member = to_utf8(vm_.members->GetStringSelection());
      if (member.empty()) {
        prompter_.show_error(caption, "Select a type of the label first.");
        break;
      }
      const bool ste = member.rfind(kSteMember, 0) == 0;
      const std::string type =
          member.substr(ste ? std::string(kSteMember).size() : std::string(kChwallMember).size());
      report(editor_.remove_label_type(LabelKind::vm, current,
                                       ste ? TypeKind::ste : TypeKind::chwall, type),
             caption, "Could not remove " + member + " from VM label " + pq(current));
      break;
    }
    default:
      break;
  }
}

void PolicyFrame::resource_command(int id) {
  const std::string caption = "Resource Labels";
  const std::string current = selected(res_);
  if (id == kResAdd) {
    auto name = ask(caption, "Name of the new resource label:");
    if (!name) return;
    auto type = ask(caption, "STE type of resource label " + pq(*name) + ":");
    if (!type) return;
    report(editor_.add_label(LabelKind::resource, *name, {*type}), caption,
           "Could not add resource label " + pq(*name));
    return;
  }
  if (current.empty()) {
    prompter_.show_error(caption, "Select a resource label first.");
    return;
  }
  if (id == kResRename) {
    auto name = ask(caption, "New name of resource label " + pq(current) + ":", current);
    if (name) {
      report(editor_.rename_label(LabelKind::resource, current, *name), caption,
             "Could not rename resource label " + pq(current) + " to " + pq(*name));
    }
  } else if (id == kResDelete) {
    report(editor_.delete_label(LabelKind::resource, current), caption,
           "Could not delete resource label " + pq(current));
  } else if (id == kResChangeSte) {
    const acm::Label* label = editor_.policy().find_resource_label(current);
    const std::string old =
        label != nullptr && !label->ste_types.empty() ? label->ste_types.front().name : "";
    auto type = ask(caption, "STE type of resource label " + pq(current) + ":", old);
    if (type) {
      report(editor_.replace_label_type(LabelKind::resource, current, TypeKind::ste, old, *type),
             caption, "Could not change the STE type of resource label " + pq(current));
    }
  }
}

void PolicyFrame::conflict_command(int id) {
  const std::string caption = "Conflict Sets";
  if (id == kSetAdd) {
    auto name = ask(caption, "Name of the new conflict set:");
    if (!name) return;
    auto types =
        ask(caption, "Chinese Wall types of conflict set " + pq(*name) + " (separated by commas):");
    if (!types) return;
    auto added = editor_.add_conflict_set(*name, split_names(*types));
    if (!added) {
      report(tl::unexpected(added.error()), caption, "Could not add conflict set " + pq(*name));
    } else {
      refresh();
      sets_.items->SetSelection(static_cast<int>(*added));
    }
    return;
  }
  const int at = sets_.items->GetSelection();
  const acm::PolicyModel& p = editor_.policy();
  if (at == wxNOT_FOUND || !p.chwall ||
      static_cast<std::size_t>(at) >= p.chwall->conflict_sets.size()) {
    prompter_.show_error(caption, "Select a conflict set first.");
    return;
  }
  const auto index = static_cast<std::size_t>(at);
  const std::string current = p.chwall->conflict_sets[index].name;
  switch (id) {
    case kSetRename: {
      auto name = ask(caption, "New name of conflict set " + pq(current) + ":", current);
      if (name) {
        report(editor_.rename_conflict_set(index, *name), caption,
               "Could not rename conflict set " + pq(current));
      }
      break;
    }
    case kSetDelete:
      report(editor_.delete_conflict_set(index), caption,
             "Could not delete conflict set " + pq(current));
      break;
    case kSetAddMembers: {
      auto types = ask(caption, "Chinese Wall types to add to conflict set " + pq(current) +
                                    " (separated by commas):");
      if (types) {
        report(editor_.add_conflict_members(index, split_names(*types)), caption,
               "Could not add to conflict set " + pq(current));
      }
      break;
    }
    case kSetRemoveMember: {
      const std::string member = to_utf8(sets_.members->GetStringSelection());
      if (member.empty()) {
        prompter_.show_error(caption, "Select a type of the conflict set first.");
        break;
      }
      report(editor_.remove_conflict_members(index, {member}), caption,
             "Could not remove " + pq(member) + " from conflict set " + pq(current));
      break;
    }
    default:
      break;
  }
}

void PolicyFrame::header_command(int id) {
  const std::string caption = "Policy Header";
  const acm::PolicyHeader& h = editor_.policy().header;
  switch (id) {
    case kHeaderName: {
      auto name = ask(caption, "Policy name (dotted, e.g. example.chwall):", h.name);
      if (name) report(editor_.set_policy_name(*name), caption, "Could not rename the policy");
      break;
    }
    case kHeaderVersion: {
      auto version = ask(caption, "Policy version (major.minor):", h.version.to_string());
      if (version) report(editor_.set_version(*version), caption, "Could not set the version");
      break;
    }
    case kHeaderFromPolicy: {
      const std::string initial =
          h.from_policy ? h.from_policy->name + " " + h.from_policy->version.to_string()
                        : h.name + " " + h.version.to_string();
      auto text = prompter_.ask_text(
          caption,
          "FromPolicy for a run-time update: the active policy's name and version "
          "(e.g. 'mytest 1.0'); empty removes it:",
          initial);
      if (!text) break;
      const std::vector<std::string> parts = split_names(*text);
      if (parts.empty()) {
        report(editor_.set_from_policy(std::nullopt), caption, "Could not remove FromPolicy");
        break;
      }
      if (parts.size() != 2) {
        prompter_.show_error(caption, "Give the policy name and its version, e.g. 'mytest 1.0'.");
        break;
      }
      auto version = acm::PolicyVersion::parse(parts[1]);
      if (!version) {
        report(tl::unexpected(version.error()), caption, "Could not set FromPolicy");
        break;
      }
      report(editor_.set_from_policy(acm::FromPolicy{parts[0], *version}), caption,
             "Could not set FromPolicy");
      break;
    }
    case kHeaderMakeUpdate:
      report(editor_.make_update(), caption, "Could not make an update");
      break;
    default:
      break;
  }
}

// --- files ---------------------------------------------------------------------

bool PolicyFrame::open_policy(const std::filesystem::path& path) {
  if (!report(editor_.load_file(path), "Open Policy", "Could not open " + path.string())) {
    return false;
  }
  refresh();
  SetStatusText(to_wx("Opened " + path.string()));
  return true;
}

void PolicyFrame::open_policy_dialog() {
  if (!settle_unsaved_changes("Open Policy")) return;
  auto path = prompter_.choose_file_to_open(
      FileRequest{"Select an XML security policy", "", "", kPolicyWildcard});
  if (path) (void)open_policy(*path);
}

bool PolicyFrame::save_policy() {
  if (!editor_.has_policy()) return false;
  if (editor_.file().empty()) return save_policy_as();
  const std::filesystem::path path = editor_.file();
  if (!report(editor_.save(path), "Save Policy", "Could not save " + path.string())) return false;
  SetStatusText(to_wx("Saved " + path.string()));
  update_title();
  return true;
}

bool PolicyFrame::save_policy_as() {
  if (!editor_.has_policy()) return false;
  auto path = prompter_.choose_file_to_save(
      FileRequest{"Save the security policy as", editor_.file().parent_path().string(),
                  acm::policy_file_path(editor_.policy().header.name), kPolicyWildcard});
  if (!path) return false;
  if (!report(editor_.save(*path), "Save Policy", "Could not save " + *path)) return false;
  SetStatusText(to_wx("Saved " + *path));
  update_title();
  return true;
}

void PolicyFrame::deploy() {
  constexpr const char* kCaption = "Deploy Policy to xend";
  if (!editor_.has_policy()) return;
  const std::string name = editor_.policy().header.name;
  const std::filesystem::path path = policy_path(root_, name);
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (!report(editor_.validate().map([](const acm::CompiledPolicy&) {}), kCaption,
              "The policy is not valid")) {
    return;
  }
  const std::string xml = editor_.xml();
  if (!report(acm::write_file_atomic(path, std::string_view(xml)), kCaption,
              "Could not write " + path.string())) {
    return;
  }
  DeployOutcome outcome;
  {
    wxBusyCursor busy;
    outcome = deploy_policy(
        DeployRequest{root_, xml, "/etc/xen/acm-security/policies/" + acm::policy_file_path(name),
                      std::chrono::seconds(60)});
  }
  std::string message = outcome.message;
  for (const std::string& warning : outcome.warnings)
    message += "\nWarning: " + warning;
  if (outcome.ok) {
    prompter_.show_info(
        kCaption, "xend's answer for policy '" + name + "' (" + path.string() + "):\n\n" + message);
  } else {
    prompter_.show_error(
        kCaption, "xend did not set policy '" + name + "' (" + path.string() + "):\n\n" + message);
  }
}

bool PolicyFrame::settle_unsaved_changes(const std::string& caption) {
  if (!editor_.modified()) return true;
  switch (
      prompter_.ask(caption, "Save the changes to " + editor_.file().string() + " first?", true)) {
    case Answer::yes:
      return save_policy();
    case Answer::no:
      return true;
    case Answer::cancel:
      return false;
  }
  return false;
}

void PolicyFrame::on_close(wxCloseEvent& event) {
  if (event.CanVeto() && !settle_unsaved_changes("Close")) {
    event.Veto();
    return;
  }
  Destroy();
}

}  // namespace shype::ezpolicy::gui
