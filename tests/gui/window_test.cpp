// The real window, driven through its buttons, menus and shortcuts, with
// dialogs answered by a ScriptedPrompter (run under Xvfb by xvfb_main.cpp).
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>
#include <wx/accel.h>
#include <wx/choice.h>
#include <wx/listbox.h>
#include <wx/listctrl.h>
#include <wx/menu.h>
#include <wx/notebook.h>
#include <wx/textctrl.h>
#include <wx/uiaction.h>

#include "acm/file_io.hpp"
#include "ezpolicy/gui/main_frame.hpp"
#include "ezpolicy/translator.hpp"
#include "fake_xend.hpp"
#include "fixtures.hpp"
#include "window_driver.hpp"

namespace shype::ezpolicy::gui {
namespace {

using testing::click;
using testing::menu_command;
using testing::menu_enabled;
using testing::press_shortcut;
using testing::pump;
using testing::ScriptedPrompter;

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A choice made as the user makes it (the control sends wxEVT_CHOICE).
void choose(wxChoice* choice, const char* label) {
  ASSERT_TRUE(choice->SetStringSelection(label)) << label;
  wxCommandEvent changed(wxEVT_CHOICE, choice->GetId());
  changed.SetEventObject(choice);
  changed.SetInt(choice->GetSelection());
  choice->HandleWindowEvent(changed);
  pump();
}

std::string without_date(const std::string& xml) {
  return std::regex_replace(xml, std::regex("<Date>[^<]*</Date>"), "<Date/>");
}

class Window : public ::testing::Test {
 protected:
  void SetUp() override {
    frame_ = new MainFrame(prompter_, root_.path());
    frame_->Show();
    pump();
  }
  void TearDown() override {
    EXPECT_TRUE(prompter_.script_done()) << "not every scripted answer was asked for";
    if (frame_ != nullptr) frame_->Destroy();
    pump();
  }

  // Builds Figure 10.2 as the manual's steps do: New Org three times, Add
  // Department (Ctrl-A) twice, then two rules from selections.
  void build_figure_10_2() {
    for (const char* org : {"A-Bank", "B-Bank", "AutoCorp"}) {
      prompter_.answer_text(org);
      click(frame_->new_org_button());
    }
    for (const char* dept : {"SecurityUnderwriting", "MarketAnalysis"}) {
      frame_->select_types({"A-Bank"});
      prompter_.answer_text(dept);
      press_shortcut(frame_, 'A', wxACCEL_CTRL);
    }
    frame_->select_types({"A-Bank", "B-Bank", "__UNLABELED__"});
    prompter_.answer_text("");  // the manual: "enter a name or just hit <ENTER>"
    click(frame_->create_rule_button());
    frame_->select_types({"A-Bank.SecurityUnderwriting", "A-Bank.MarketAnalysis", "__UNLABELED__"});
    prompter_.answer_text("");
    click(frame_->create_rule_button());
  }

  std::vector<std::string> members_shown(std::size_t rule) const {
    std::vector<std::string> out;
    wxListBox* list = frame_->rule_boxes().at(rule).members;
    for (unsigned i = 0; i < list->GetCount(); ++i)
      out.push_back(list->GetString(i).ToStdString());
    return out;
  }

  testing::ScratchDir root_;
  ScriptedPrompter prompter_;
  MainFrame* frame_ = nullptr;
};

TEST_F(Window, StartsWithUnlabeledOnlyAndNothingToEdit) {
  EXPECT_EQ(frame_->GetTitle(), "EZ Workload Protection Policy Tool");
  EXPECT_EQ(frame_->editor().definition(), WorkloadDefinition::initial());
  EXPECT_TRUE(frame_->find_item("__UNLABELED__").IsOk());
  EXPECT_TRUE(frame_->rule_boxes().empty());
  for (int id : {kIdRename, kIdAdd, kIdDelete, kIdUndo, kIdRedo})
    EXPECT_FALSE(menu_enabled(frame_, id)) << id;
  EXPECT_TRUE(menu_enabled(frame_, kIdSave));
  EXPECT_TRUE(frame_->new_org_button()->IsEnabled());
}

TEST_F(Window, MenusCarryTheOriginalShortcuts) {
  const struct {
    int key;
    int flags;
    int id;
  } shortcuts[] = {{'O', wxACCEL_CTRL, kIdOpen},      {'S', wxACCEL_CTRL, kIdSave},
                   {'S', wxACCEL_ALT, kIdSaveAs},     {'T', wxACCEL_ALT, kIdSavePolicy},
                   {'N', wxACCEL_CTRL, kIdNew},       {'X', wxACCEL_CTRL, kIdExit},
                   {'R', wxACCEL_CTRL, kIdRename},    {'A', wxACCEL_CTRL, kIdAdd},
                   {'D', wxACCEL_CTRL, kIdDelete},    {'C', wxACCEL_CTRL, kIdCollapseAll},
                   {'E', wxACCEL_CTRL, kIdExpandAll}, {'H', wxACCEL_CTRL, kIdHelp},
                   {'Z', wxACCEL_CTRL, kIdUndo},      {'Y', wxACCEL_CTRL, kIdRedo}};
  for (const auto& s : shortcuts) {
    wxMenuItem* item = testing::item_with_shortcut(frame_, s.key, s.flags);
    ASSERT_NE(item, nullptr) << static_cast<char>(s.key);
    EXPECT_EQ(item->GetId(), s.id) << static_cast<char>(s.key);
  }
}

TEST_F(Window, BuildsFigure10_2WithButtonsAndShortcuts) {
  build_figure_10_2();
  EXPECT_TRUE(prompter_.errors.empty()) << prompter_.errors.front();
  EXPECT_EQ(frame_->editor().definition(), testing::figure_10_2());
  ASSERT_EQ(frame_->rule_boxes().size(), 2u);
  EXPECT_EQ(members_shown(0), (std::vector<std::string>{"A-Bank", "B-Bank", "__UNLABELED__"}));
  EXPECT_EQ(members_shown(1),
            (std::vector<std::string>{"A-Bank.MarketAnalysis", "A-Bank.SecurityUnderwriting",
                                      "__UNLABELED__"}));
  EXPECT_TRUE(frame_->tree()->IsExpanded(frame_->find_item("A-Bank")));
  EXPECT_NE(frame_->GetTitle().Find("[modified]"), wxNOT_FOUND);
  EXPECT_EQ(frame_->problems()->GetItemCount(), 0);

  // Save Workload Definition as... (Alt-S): the original tool's text.
  const std::string wld = (root_.path() / "fig.wld").string();
  prompter_.answer_file(wld);
  press_shortcut(frame_, 'S', wxACCEL_ALT);
  EXPECT_EQ(read(wld), testing::kFigure10_2Wld);
  EXPECT_EQ(prompter_.file_requests.back().default_file, "DEFAULT.wld");
  EXPECT_EQ(frame_->GetTitle(), wxString("ezPolicy: " + wld));

  // Save as Xen ACM Security Policy (Alt-T), as the manual: name mytest.
  prompter_.answer_text("mytest");
  press_shortcut(frame_, 'T', wxACCEL_ALT);
  ASSERT_TRUE(prompter_.errors.empty()) << prompter_.errors.front();
  const auto policy = root_.path() / "etc/xen/acm-security/policies/mytest-security_policy.xml";
  ASSERT_TRUE(std::filesystem::exists(policy));
  auto expected = translate(testing::figure_10_2(), "mytest");
  ASSERT_TRUE(expected);
  EXPECT_EQ(without_date(read(policy)), without_date(expected->xml));
  ASSERT_EQ(prompter_.infos.size(), 1u);
  EXPECT_NE(prompter_.infos[0].find(policy.string()), std::string::npos) << prompter_.infos[0];
  EXPECT_EQ(without_date(frame_->preview()->GetValue().ToStdString()), without_date(expected->xml));
}

TEST_F(Window, EditMenuAndContextMenusFollowTheSelection) {
  build_figure_10_2();
  frame_->select_types({"A-Bank"});
  EXPECT_TRUE(menu_enabled(frame_, kIdRename));
  EXPECT_TRUE(menu_enabled(frame_, kIdAdd));
  EXPECT_TRUE(menu_enabled(frame_, kIdDelete));
  auto org_menu = frame_->make_tree_menu(frame_->find_item("A-Bank"));
  EXPECT_TRUE(org_menu->IsEnabled(kIdAdd));
  EXPECT_TRUE(org_menu->IsEnabled(kIdRename));

  frame_->select_types({"A-Bank.MarketAnalysis"});
  EXPECT_TRUE(menu_enabled(frame_, kIdRename));
  EXPECT_FALSE(menu_enabled(frame_, kIdAdd));
  EXPECT_TRUE(menu_enabled(frame_, kIdDelete));
  auto dept_menu = frame_->make_tree_menu(frame_->find_item("A-Bank.MarketAnalysis"));
  EXPECT_TRUE(dept_menu->IsEnabled(kIdRename));
  EXPECT_EQ(dept_menu->FindItem(kIdAdd), nullptr);

  frame_->select_types({"A-Bank", "B-Bank"});
  EXPECT_FALSE(menu_enabled(frame_, kIdRename));
  EXPECT_FALSE(menu_enabled(frame_, kIdAdd));
  EXPECT_TRUE(menu_enabled(frame_, kIdDelete));
  EXPECT_FALSE(frame_->make_tree_menu(frame_->find_item("A-Bank"))->IsEnabled(kIdRename));

  frame_->select_types({"__UNLABELED__"});
  auto unlabeled_menu = frame_->make_tree_menu(frame_->find_item("__UNLABELED__"));
  EXPECT_FALSE(unlabeled_menu->IsEnabled(kIdAdd));
  EXPECT_FALSE(unlabeled_menu->IsEnabled(kIdRename));
  EXPECT_TRUE(unlabeled_menu->IsEnabled(kIdDelete));

  frame_->select_types({});
  EXPECT_FALSE(menu_enabled(frame_, kIdRename));
  EXPECT_FALSE(menu_enabled(frame_, kIdAdd));
  EXPECT_FALSE(menu_enabled(frame_, kIdDelete));
}

TEST_F(Window, RenameAndDeleteFollowIntoTheRules) {
  build_figure_10_2();
  frame_->select_types({"A-Bank"});
  prompter_.answer_text("C-Bank");
  press_shortcut(frame_, 'R', wxACCEL_CTRL);
  EXPECT_EQ(members_shown(0), (std::vector<std::string>{"B-Bank", "C-Bank", "__UNLABELED__"}));
  EXPECT_EQ(members_shown(1)[0], "C-Bank.MarketAnalysis");
  EXPECT_EQ(frame_->selected_types(), std::vector<std::string>{"C-Bank"});

  // A sibling's name is refused with the reason; nothing changes.
  prompter_.answer_text("B-Bank");
  press_shortcut(frame_, 'R', wxACCEL_CTRL);
  ASSERT_EQ(prompter_.errors.size(), 1u);
  EXPECT_NE(prompter_.errors[0].find("B-Bank"), std::string::npos) << prompter_.errors[0];
  EXPECT_TRUE(frame_->find_item("C-Bank").IsOk());

  // Deleting the organization takes it and its departments out of every
  // rule; a rule is deleted only when left empty.
  frame_->select_types({"C-Bank"});
  press_shortcut(frame_, 'D', wxACCEL_CTRL);
  EXPECT_FALSE(frame_->find_item("C-Bank").IsOk());
  ASSERT_EQ(frame_->rule_boxes().size(), 2u);
  EXPECT_EQ(members_shown(0), (std::vector<std::string>{"B-Bank", "__UNLABELED__"}));
  EXPECT_EQ(members_shown(1), (std::vector<std::string>{"__UNLABELED__"}));
  // The one-member rule is a warning in Problems.
  EXPECT_GE(frame_->problems()->GetItemCount(), 1);
}

TEST_F(Window, RuleButtonsAddDeleteRenameAndAsk) {
  build_figure_10_2();
  // --> Add with an organization next to one of its departments: refused.
  frame_->select_types({"A-Bank"});
  click(frame_->rule_boxes()[1].add);
  ASSERT_EQ(prompter_.errors.size(), 1u);
  EXPECT_NE(prompter_.errors[0].find("EITHER an Organization OR a specific Department"),
            std::string::npos);
  // --> Add of a member already there asks; No keeps the rule.
  frame_->select_types({"AutoCorp", "B-Bank"});
  prompter_.answer(Answer::no);
  click(frame_->rule_boxes()[0].add);
  EXPECT_NE(prompter_.questions.back().find("Selected item [B-Bank] is already"),
            std::string::npos);
  EXPECT_EQ(members_shown(0).size(), 3u);
  prompter_.answer(Answer::yes);
  click(frame_->rule_boxes()[0].add);
  EXPECT_EQ(members_shown(0),
            (std::vector<std::string>{"A-Bank", "AutoCorp", "B-Bank", "__UNLABELED__"}));

  // <-- Del down to one member asks whether to delete the rule.
  wxListBox* list = frame_->rule_boxes()[1].members;
  list->SetSelection(0);
  list->SetSelection(1);
  prompter_.answer(Answer::yes);
  click(frame_->rule_boxes()[1].remove);
  EXPECT_NE(prompter_.questions.back().find("less than two types"), std::string::npos);
  ASSERT_EQ(frame_->rule_boxes().size(), 1u);

  // Rename and delete through the rule's menu.
  auto menu = frame_->make_rule_menu();
  EXPECT_NE(menu->FindItem(kIdRuleRename), nullptr);
  prompter_.answer_text("banks");
  frame_->run_rule_command(0, kIdRuleRename);
  pump();
  EXPECT_EQ(frame_->editor().definition().rules[0].name, "banks");
  frame_->run_rule_command(0, kIdRuleDelete);
  pump();
  EXPECT_TRUE(frame_->rule_boxes().empty());

  // Creating a rule from nothing, or from an organization and its own
  // department, says why not.
  frame_->select_types({});
  click(frame_->create_rule_button());
  EXPECT_NE(prompter_.errors.back().find("You must select first"), std::string::npos);
  frame_->select_types({"A-Bank", "A-Bank.MarketAnalysis"});
  click(frame_->create_rule_button());
  EXPECT_NE(prompter_.errors.back().find("EITHER an Organization OR specific Department"),
            std::string::npos);
}

TEST_F(Window, UndoAndRedoThroughTheMenu) {
  prompter_.answer_text("A-Bank");
  click(frame_->new_org_button());
  frame_->select_types({"A-Bank"});
  prompter_.answer_text("C-Bank");
  press_shortcut(frame_, 'R', wxACCEL_CTRL);
  ASSERT_TRUE(frame_->find_item("C-Bank").IsOk());
  EXPECT_TRUE(menu_enabled(frame_, kIdUndo));
  EXPECT_FALSE(menu_enabled(frame_, kIdRedo));
  EXPECT_NE(frame_->GetMenuBar()->GetLabel(kIdUndo).Find("C-Bank"), wxNOT_FOUND);

  menu_command(frame_, kIdUndo);
  EXPECT_TRUE(frame_->find_item("A-Bank").IsOk());
  EXPECT_FALSE(frame_->find_item("C-Bank").IsOk());
  EXPECT_TRUE(menu_enabled(frame_, kIdRedo));
  press_shortcut(frame_, 'Z', wxACCEL_CTRL);
  EXPECT_EQ(frame_->editor().definition(), WorkloadDefinition::initial());
  EXPECT_EQ(frame_->GetTitle().Find("[modified]"), wxNOT_FOUND);  // back to where it started
  press_shortcut(frame_, 'Y', wxACCEL_CTRL);
  press_shortcut(frame_, 'Y', wxACCEL_CTRL);
  EXPECT_TRUE(frame_->find_item("C-Bank").IsOk());
  EXPECT_FALSE(menu_enabled(frame_, kIdRedo));
}

TEST_F(Window, AMalformedWldShowsTheErrorAndKeepsTheDefinition) {
  build_figure_10_2();
  const auto bad = root_.path() / "bad.wld";
  std::ofstream(bad) << "ezpolicy = {'orgs': [['A-Bank', ['x.y']]]}";
  prompter_.answer(Answer::no);  // unsaved changes: do not save them first
  prompter_.answer_file(bad.string());
  press_shortcut(frame_, 'O', wxACCEL_CTRL);
  ASSERT_EQ(prompter_.errors.size(), 1u);
  EXPECT_NE(prompter_.errors[0].find(bad.string()), std::string::npos) << prompter_.errors[0];
  EXPECT_NE(prompter_.errors[0].find("kept"), std::string::npos);
  EXPECT_EQ(frame_->editor().definition(), testing::figure_10_2());
  EXPECT_TRUE(frame_->current_file().empty());
}

TEST_F(Window, OpensAWldAndNewStartsOver) {
  const auto wld = root_.path() / "fig.wld";
  std::ofstream(wld) << testing::kFigure10_2Wld;
  prompter_.answer_file(wld.string());
  press_shortcut(frame_, 'O', wxACCEL_CTRL);
  EXPECT_TRUE(prompter_.errors.empty());
  EXPECT_EQ(frame_->editor().definition(), testing::figure_10_2());
  EXPECT_EQ(frame_->GetTitle(), wxString("ezPolicy: " + wld.string()));
  EXPECT_FALSE(menu_enabled(frame_, kIdUndo));

  press_shortcut(frame_, 'N', wxACCEL_CTRL);
  EXPECT_EQ(frame_->editor().definition(), WorkloadDefinition::initial());
  EXPECT_EQ(frame_->GetTitle(), "ezPolicy: *New File*");
}

TEST_F(Window, ClosingWithUnsavedChangesAsks) {
  prompter_.answer_text("A-Bank");
  click(frame_->new_org_button());
  prompter_.answer(Answer::cancel);
  EXPECT_FALSE(frame_->Close());
  pump();
  EXPECT_TRUE(frame_->IsShown());
  EXPECT_NE(prompter_.questions.back().find("Save the changes"), std::string::npos);

  // Yes saves first (asking where, since there is no file yet).
  const auto wld = root_.path() / "closing.wld";
  prompter_.answer(Answer::yes);
  prompter_.answer_file(wld.string());
  EXPECT_TRUE(frame_->Close());
  frame_ = nullptr;  // destroyed by Close
  pump();
  EXPECT_TRUE(std::filesystem::exists(wld));
}

TEST_F(Window, SavingToAnUnwritablePlaceSaysWhereAndWhy) {
  prompter_.answer_file((root_.path() / "no/such/dir/x.wld").string());
  press_shortcut(frame_, 'S', wxACCEL_CTRL);  // no file yet: asks where
  ASSERT_EQ(prompter_.errors.size(), 1u);
  EXPECT_NE(prompter_.errors[0].find("no/such/dir/x.wld"), std::string::npos)
      << prompter_.errors[0];
  EXPECT_TRUE(frame_->current_file().empty());
}

TEST_F(Window, ExplainSaysWhetherTwoWorkloadsMayShareAndRunTogether) {
  build_figure_10_2();
  choose(frame_->explain_first(), "A-Bank");
  choose(frame_->explain_second(), "B-Bank");
  const std::string text = frame_->explanation()->GetValue().ToStdString();
  EXPECT_NE(text.find("Share: NO"), std::string::npos) << text;
  EXPECT_NE(text.find("Run together: NO"), std::string::npos) << text;
  EXPECT_NE(text.find("'RER'"), std::string::npos) << text;
}

TEST_F(Window, DeployHandsThePolicyToXendAndShowsItsAnswer) {
  build_figure_10_2();
  testing::FakeXend xend(root_.path(), [](const std::string&, const rpc::Json&) {
    return rpc::Result<rpc::Json>(
        rpc::Json{{"policy", {{"name", "mytest"}, {"version", "1.0"}, {"loaded", true}}}});
  });
  prompter_.answer_text("mytest");
  menu_command(frame_, kIdDeploy);
  ASSERT_TRUE(prompter_.errors.empty()) << prompter_.errors.front();
  ASSERT_EQ(prompter_.infos.size(), 1u);
  EXPECT_NE(prompter_.infos[0].find("Successfully set the new policy."), std::string::npos)
      << prompter_.infos[0];
  ASSERT_EQ(xend.requests().size(), 1u);
  EXPECT_EQ(xend.requests()[0]["method"], "policy.set");
}

TEST_F(Window, ARealKeyPressReachesTheMenu) {
  // wxUIActionSimulator goes through the X server (XTest): Ctrl-N on the
  // focused window starts a new definition.
  frame_->Raise();
  frame_->tree()->SetFocus();
  ASSERT_TRUE(
      testing::pump_until([&] { return frame_->tree()->HasFocus(); }, std::chrono::seconds(5)));
  wxUIActionSimulator sim;
  sim.MouseMove(frame_->tree()->GetScreenRect().GetPosition() + wxPoint(20, 60));
  pump(std::chrono::milliseconds(50));
  sim.Char('N', wxMOD_CONTROL);
  EXPECT_TRUE(testing::pump_until([&] { return frame_->GetTitle() == "ezPolicy: *New File*"; },
                                  std::chrono::seconds(5)))
      << frame_->GetTitle().utf8_str();
}

TEST_F(Window, ScreenshotOfFigure10_2IsNotBlank) {
  build_figure_10_2();
  frame_->views()->SetSelection(2);
  choose(frame_->explain_first(), "A-Bank");
  choose(frame_->explain_second(), "B-Bank");
  frame_->select_types({"A-Bank", "B-Bank", "__UNLABELED__"});
  frame_->Refresh();
  frame_->Update();
  pump(std::chrono::milliseconds(500));
  const wxImage image = testing::capture(frame_);
  ASSERT_TRUE(image.IsOk());
  EXPECT_GE(image.GetWidth(), 600);
  EXPECT_GT(testing::distinct_colours(image), 16u);
  const auto png = root_.path() / "ezpolicy.png";
  EXPECT_TRUE(image.SaveFile(png.string(), wxBITMAP_TYPE_PNG));
  // SHYPE_SCREENSHOT=path keeps a copy (docs/images/ezpolicy.png is made so).
  if (const char* keep = std::getenv("SHYPE_SCREENSHOT")) {
    EXPECT_TRUE(image.SaveFile(keep, wxBITMAP_TYPE_PNG)) << keep;
  }
}

}  // namespace
}  // namespace shype::ezpolicy::gui
