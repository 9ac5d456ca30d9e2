// The policy view (File > Open Policy (XML)...): an existing policy opened,
// refined through the view's buttons and menus with dialogs answered by a
// ScriptedPrompter, and saved (run under Xvfb by xvfb_main.cpp).
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <wx/accel.h>
#include <wx/choice.h>
#include <wx/listbox.h>
#include <wx/notebook.h>
#include <wx/stattext.h>
#include <wx/textctrl.h>

#include "acm/compiler.hpp"
#include "acm/xml/policy_loader.hpp"
#include "acm/xml/policy_writer.hpp"
#include "ezpolicy/gui/main_frame.hpp"
#include "ezpolicy/gui/policy_frame.hpp"
#include "fake_xend.hpp"
#include "fixtures.hpp"
#include "window_driver.hpp"

namespace shype::ezpolicy::gui::policy_view_test {
namespace {

using testing::click;
using testing::menu_command;
using testing::menu_enabled;
using testing::press_shortcut;
using testing::pump;
using testing::ScriptedPrompter;

const std::filesystem::path kMytest =
    std::filesystem::path(SHYPE_SOURCE_DIR) / "policies/mytest-security_policy.xml";

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A selection made as the user makes it (the control sends its event).
void select(wxListBox* list, const char* entry) {
  ASSERT_TRUE(list->SetStringSelection(entry)) << entry;
  wxCommandEvent changed(wxEVT_LISTBOX, list->GetId());
  changed.SetEventObject(list);
  changed.SetInt(list->GetSelection());
  list->HandleWindowEvent(changed);
  pump();
}

void select_index(wxListBox* list, int index) {
  list->SetSelection(index);
  wxCommandEvent changed(wxEVT_LISTBOX, list->GetId());
  changed.SetEventObject(list);
  changed.SetInt(index);
  list->HandleWindowEvent(changed);
  pump();
}

void choose(wxChoice* choice, const char* entry) {
  ASSERT_TRUE(choice->SetStringSelection(entry)) << entry;
  wxCommandEvent changed(wxEVT_CHOICE, choice->GetId());
  changed.SetEventObject(choice);
  changed.SetInt(choice->GetSelection());
  choice->HandleWindowEvent(changed);
  pump();
}

std::vector<std::string> entries(wxListBox* list) {
  std::vector<std::string> out;
  for (unsigned i = 0; i < list->GetCount(); ++i)
    out.push_back(list->GetString(i).ToStdString());
  return out;
}

class PolicyWindow : public ::testing::Test {
 protected:
  void SetUp() override {
    policy_file_ = root_.path() / "mytest-security_policy.xml";
    std::filesystem::copy_file(kMytest, policy_file_);
    main_ = new MainFrame(prompter_, root_.path());
    main_->Show();
    pump();
  }
  void TearDown() override {
    EXPECT_TRUE(prompter_.script_done()) << "not every scripted answer was asked for";
    if (view_ != nullptr) view_->Destroy();
    if (main_ != nullptr) main_->Destroy();
    pump();
  }

  // File > Open Policy (XML)... in the main window.
  PolicyFrame* open(const std::filesystem::path& path) {
    prompter_.answer_file(path.string());
    menu_command(main_, kIdOpenPolicy);
    pump();
    for (wxWindow* w : wxTopLevelWindows) {
      if (auto* view = dynamic_cast<PolicyFrame*>(w)) return view;
    }
    return nullptr;
  }

  void button(int id) {
    ASSERT_NE(view_->button(id), nullptr) << id;
    click(view_->button(id));
  }

  testing::ScratchDir root_;
  std::filesystem::path policy_file_;
  ScriptedPrompter prompter_;
  MainFrame* main_ = nullptr;
  PolicyFrame* view_ = nullptr;
};

TEST_F(PolicyWindow, OpensMytestAndShowsItsLists) {
  view_ = open(policy_file_);
  ASSERT_NE(view_, nullptr);
  EXPECT_TRUE(view_->IsShown());
  EXPECT_EQ(entries(view_->ste_page().items).size(), 7u);
  EXPECT_EQ(entries(view_->chwall_page().items).size(), 7u);
  EXPECT_EQ(entries(view_->vm_page().items).size(), 7u);
  EXPECT_EQ(entries(view_->resource_page().items).size(), 7u);
  EXPECT_EQ(entries(view_->conflict_page().items),
            (std::vector<std::string>{"RER  [A-Bank, B-Bank, __UNLABELED__]",
                                      "RER  [A-Bank.MarketAnalysis, A-Bank.SecurityUnderwriting, "
                                      "__UNLABELED__]"}));
  EXPECT_EQ(view_->bootstrap()->GetStringSelection(), "SystemManagement");
  EXPECT_EQ(view_->header()->GetLabel(), "Policy mytest, version 1.0, no FromPolicy");
  select(view_->vm_page().items, "A-Bank.MarketAnalysis");
  EXPECT_EQ(entries(view_->vm_page().members),
            (std::vector<std::string>{"STE: A-Bank.MarketAnalysis", "CHWALL: A-Bank",
                                      "CHWALL: A-Bank.MarketAnalysis"}));
  EXPECT_EQ(view_->preview()->GetValue().ToStdString(), view_->editor().xml());
  EXPECT_TRUE(view_->problems()->IsEmpty());
  EXPECT_FALSE(menu_enabled(view_, kPolicyUndo));
  EXPECT_EQ(view_->GetTitle(), "ezPolicy: Refine Policy " + policy_file_.string());
}

TEST_F(PolicyWindow, RenameAddConflictSetSetFromPolicySaveDiffersExactlyAsExpected) {
  view_ = open(policy_file_);
  ASSERT_NE(view_, nullptr);
  // Rename the CHWALL type AutoCorp: labels follow.
  view_->pages()->SetSelection(1);
  select(view_->chwall_page().items, "AutoCorp");
  prompter_.answer_text("Motors");
  button(kChwallRename);
  // A new conflict set of Motors and B-Bank.
  view_->pages()->SetSelection(4);
  prompter_.answer_text("Cars");
  prompter_.answer_text("Motors, B-Bank");
  button(kSetAdd);
  // FromPolicy naming the active policy, and a higher version.
  // FromPolicy naming this policy at its own version is the core's refusal.
  prompter_.answer_text("mytest 1.0");
  button(kHeaderFromPolicy);
  ASSERT_EQ(prompter_.errors.size(), 1u);
  EXPECT_NE(prompter_.errors[0].find("must be greater than the version it updates"),
            std::string::npos)
      << prompter_.errors[0];
  prompter_.errors.clear();
  prompter_.answer_text("1.1");
  button(kHeaderVersion);
  prompter_.answer_text("mytest 1.0");
  button(kHeaderFromPolicy);
  ASSERT_TRUE(prompter_.errors.empty()) << prompter_.errors.front();
  EXPECT_EQ(view_->header()->GetLabel(), "Policy mytest, version 1.1, FromPolicy mytest 1.0");
  EXPECT_NE(view_->GetTitle().ToStdString().find("[modified]"), std::string::npos);

  press_shortcut(view_, 'S', wxACCEL_CTRL);
  ASSERT_TRUE(prompter_.errors.empty()) << prompter_.errors.front();
  EXPECT_EQ(view_->GetTitle().ToStdString().find("[modified]"), std::string::npos);

  // The saved file validates and compiles.
  auto saved = acm::xml::load_policy_file(policy_file_);
  ASSERT_TRUE(saved) << saved.error().to_string();
  const std::string text = read(policy_file_);
  auto compiled = acm::compile_policy(
      saved->model, std::span<const std::uint8_t>(
                        reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  ASSERT_TRUE(compiled) << compiled.error().to_string();

  // Exactly the four changes, applied by hand to the original.
  auto expected = acm::xml::load_policy_file(kMytest);
  ASSERT_TRUE(expected);
  acm::PolicyModel& m = expected->model;
  for (auto& t : m.chwall->types)
    if (t.name == "AutoCorp") t.name = "Motors";
  for (auto& label : m.vm_labels)
    for (auto& t : label.chwall_types)
      if (t.name == "AutoCorp") t.name = "Motors";
  acm::ConflictSet cars;
  cars.name = "Cars";
  cars.types = {{"Motors", {}}, {"B-Bank", {}}};
  m.chwall->conflict_sets.push_back(cars);
  m.header.from_policy = acm::FromPolicy{"mytest", {1, 0}};
  m.header.version = {1, 1};
  EXPECT_EQ(saved->model, m);
  EXPECT_EQ(text, acm::xml::write_policy(m));
  // The STE type AutoCorp is another type and kept its name.
  EXPECT_NE(saved->model.find_resource_label("AutoCorp"), nullptr);
  EXPECT_EQ(saved->model.find_vm_label("AutoCorp")->ste_types.front().name, "AutoCorp");
}

TEST_F(PolicyWindow, AnInvalidOperationShowsTheCoresReasonAndUndoRestores) {
  view_ = open(policy_file_);
  ASSERT_NE(view_, nullptr);
  const acm::PolicyModel original = view_->editor().policy();
  // Deleting the STE type a resource label carries would leave it without one.
  select(view_->ste_page().items, "AutoCorp");
  button(kSteDelete);
  ASSERT_EQ(prompter_.errors.size(), 1u);
  EXPECT_NE(prompter_.errors[0].find("resource label 'AutoCorp' must have exactly one STE type"),
            std::string::npos)
      << prompter_.errors[0];
  EXPECT_EQ(view_->editor().policy(), original);
  EXPECT_FALSE(view_->editor().modified());

  // A label holding two types of one conflict set: refused too.
  view_->pages()->SetSelection(2);
  select(view_->vm_page().items, "AutoCorp");
  prompter_.answer_text("A-Bank");
  button(kVmAddChwall);
  prompter_.answer_text("B-Bank");
  button(kVmAddChwall);
  ASSERT_EQ(prompter_.errors.size(), 2u);
  EXPECT_NE(prompter_.errors[1].find("of conflict set 'RER'"), std::string::npos)
      << prompter_.errors[1];
  EXPECT_EQ(entries(view_->vm_page().members),
            (std::vector<std::string>{"STE: AutoCorp", "CHWALL: AutoCorp", "CHWALL: A-Bank"}));

  // The bootstrap choice.
  choose(view_->bootstrap(), "A-Bank");
  EXPECT_EQ(view_->editor().policy().bootstrap.name, "A-Bank");

  // Undo (Ctrl-Z) twice restores the original; redo repeats.
  EXPECT_TRUE(menu_enabled(view_, kPolicyUndo));
  press_shortcut(view_, 'Z', wxACCEL_CTRL);
  EXPECT_EQ(view_->bootstrap()->GetStringSelection(), "SystemManagement");
  press_shortcut(view_, 'Z', wxACCEL_CTRL);
  EXPECT_EQ(view_->editor().policy(), original);
  EXPECT_FALSE(view_->editor().modified());
  EXPECT_FALSE(menu_enabled(view_, kPolicyUndo));
  press_shortcut(view_, 'Y', wxACCEL_CTRL);
  EXPECT_EQ(entries(view_->vm_page().members),
            (std::vector<std::string>{"STE: AutoCorp", "CHWALL: AutoCorp", "CHWALL: A-Bank"}));
}

TEST_F(PolicyWindow, ClosingWithUnsavedChangesAsksInTheViewAndOnExit) {
  view_ = open(policy_file_);
  ASSERT_NE(view_, nullptr);
  button(kHeaderMakeUpdate);
  // Exit of the main window asks the view first; Cancel keeps both.
  prompter_.answer(Answer::cancel);
  EXPECT_FALSE(main_->Close());
  pump();
  EXPECT_TRUE(view_->IsShown());
  EXPECT_TRUE(main_->IsShown());
  ASSERT_FALSE(prompter_.questions.empty());
  EXPECT_NE(prompter_.questions.back().find("Save the changes to " + policy_file_.string()),
            std::string::npos)
      << prompter_.questions.back();
  // Yes saves the policy, then both close.
  prompter_.answer(Answer::yes);
  EXPECT_TRUE(main_->Close());
  view_ = nullptr;
  main_ = nullptr;
  pump();
  auto saved = acm::xml::load_policy_file(policy_file_);
  ASSERT_TRUE(saved) << saved.error().to_string();
  EXPECT_EQ(saved->model.header.version, (acm::PolicyVersion{1, 1}));
}

TEST_F(PolicyWindow, AMalformedPolicyShowsFileLineAndOpensNoView) {
  const auto bad = root_.path() / "bad.xml";
  std::ofstream(bad)
      << "<?xml version=\"1.0\"?>\n<SecurityPolicyDefinition xmlns=\"http://www.ibm.com\">\n<PolicyHeader>\n";
  view_ = open(bad);
  EXPECT_EQ(view_, nullptr);
  ASSERT_EQ(prompter_.errors.size(), 1u);
  EXPECT_NE(prompter_.errors[0].find(bad.string() + ":"), std::string::npos) << prompter_.errors[0];
}

TEST_F(PolicyWindow, ProblemsPreviewAndExplainFollowTheRefinedPolicy) {
  view_ = open(policy_file_);
  ASSERT_NE(view_, nullptr);
  choose(view_->explain_first(), "AutoCorp");
  choose(view_->explain_second(), "B-Bank");
  EXPECT_NE(view_->explanation()->GetValue().Find("Run together: YES"), wxNOT_FOUND)
      << view_->explanation()->GetValue();
  // A conflict set of AutoCorp and B-Bank keeps them apart.
  prompter_.answer_text("Cars");
  prompter_.answer_text("AutoCorp B-Bank");
  button(kSetAdd);
  EXPECT_NE(view_->explanation()->GetValue().Find("Run together: NO"), wxNOT_FOUND)
      << view_->explanation()->GetValue();
  EXPECT_NE(view_->explanation()->GetValue().Find("'Cars'"), wxNOT_FOUND);
  EXPECT_NE(view_->preview()->GetValue().Find("<Conflict name=\"Cars\">"), wxNOT_FOUND);
  // A single-type conflict set is a warning in Problems.
  prompter_.answer_text("Solo");
  prompter_.answer_text("AutoCorp");
  button(kSetAdd);
  ASSERT_EQ(view_->problems()->GetCount(), 1u);
  EXPECT_NE(view_->problems()->GetString(0).Find("warning: "), wxNOT_FOUND);
  EXPECT_NE(view_->problems()->GetString(0).Find("'Solo' has a single type"), wxNOT_FOUND);
  // Removing a member of the set.
  select_index(view_->conflict_page().items, 2);
  select(view_->conflict_page().members, "B-Bank");
  button(kSetRemoveMember);
  EXPECT_EQ(entries(view_->conflict_page().members), std::vector<std::string>{"AutoCorp"});
}

TEST_F(PolicyWindow, DeployHandsTheRefinedPolicyToXend) {
  view_ = open(policy_file_);
  ASSERT_NE(view_, nullptr);
  button(kHeaderMakeUpdate);
  std::string sent;
  testing::FakeXend xend(root_.path(), [&](const std::string&, const rpc::Json& params) {
    sent = params.dump();
    return rpc::Result<rpc::Json>(
        rpc::Json{{"policy", {{"name", "mytest"}, {"version", "1.1"}, {"loaded", true}}}});
  });
  menu_command(view_, kPolicyDeploy);
  ASSERT_TRUE(prompter_.errors.empty()) << prompter_.errors.front();
  ASSERT_EQ(prompter_.infos.size(), 1u);
  ASSERT_EQ(xend.requests().size(), 1u);
  EXPECT_EQ(xend.requests()[0]["method"], "policy.set");
  EXPECT_NE(sent.find("FromPolicy"), std::string::npos) << sent;
}

}  // namespace
}  // namespace shype::ezpolicy::gui::policy_view_test
