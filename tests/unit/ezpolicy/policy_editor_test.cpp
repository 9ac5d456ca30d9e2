// Refining an existing XML policy (reference xen-acm-tools.md 8): loading,
// every operation's follow-through and refusals, undo/redo, validation and
// saving.
#include "ezpolicy/policy_editor.hpp"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "acm/xml/policy_loader.hpp"
#include "fixtures.hpp"

namespace shype::ezpolicy {
namespace {

using Names = std::vector<std::string>;

const std::string kMytest = std::string(SHYPE_SOURCE_DIR) + "/policies/mytest-security_policy.xml";

Names names(const std::vector<acm::NamedItem>& items) {
  Names out;
  for (const auto& i : items)
    out.push_back(i.name);
  return out;
}

const acm::Label& vm(const PolicyEditor& e, std::string_view name) {
  const acm::Label* l = e.policy().find_vm_label(name);
  EXPECT_NE(l, nullptr) << name;
  return *l;
}

const acm::Label& res(const PolicyEditor& e, std::string_view name) {
  const acm::Label* l = e.policy().find_resource_label(name);
  EXPECT_NE(l, nullptr) << name;
  return *l;
}

class PolicyEditorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(editor.load_file(kMytest));
    original = editor.policy();
  }
  PolicyEditor editor;
  acm::PolicyModel original;
};

TEST(PolicyEditorLoad, StartsEmptyAndRefusesOperations) {
  PolicyEditor editor;
  EXPECT_FALSE(editor.has_policy());
  auto r = editor.add_type(TypeKind::ste, "X");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "no policy is open");
  EXPECT_FALSE(editor.validate());
}

TEST_F(PolicyEditorTest, LoadsMytestUnmodified) {
  EXPECT_TRUE(editor.has_policy());
  EXPECT_EQ(editor.file(), kMytest);
  EXPECT_EQ(editor.policy().header.name, "mytest");
  EXPECT_EQ(editor.policy().ste->types.size(), 7u);
  EXPECT_EQ(editor.policy().chwall->conflict_sets.size(), 2u);
  EXPECT_EQ(editor.policy().bootstrap.name, "SystemManagement");
  EXPECT_FALSE(editor.modified());
  EXPECT_FALSE(editor.can_undo());
  EXPECT_TRUE(editor.validate());
}

TEST_F(PolicyEditorTest, MalformedFileIsFileLineErrorAndChangesNothing) {
  ASSERT_TRUE(editor.add_type(TypeKind::ste, "Extra"));
  auto r = editor.load_text("<?xml version=\"1.0\"?>\n<SecurityPolicyDefinition>\n<oops>\n",
                            "broken.xml");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, acm::Errc::xml_malformed);
  EXPECT_EQ(r.error().to_string().rfind("broken.xml:", 0), 0u) << r.error().to_string();
  // Nothing changed: the edit and its history are still there.
  EXPECT_EQ(editor.file(), kMytest);
  EXPECT_TRUE(editor.modified());
  EXPECT_TRUE(editor.can_undo());
  EXPECT_EQ(names(editor.policy().ste->types).back(), "Extra");
}

TEST_F(PolicyEditorTest, SemanticallyInvalidFileIsRefusedWithTheCoresReason) {
  std::string text = editor.xml();
  auto at = text.find("bootstrap=\"SystemManagement\"");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 28, "bootstrap=\"Nobody\"");
  auto r = editor.load_text(text, "bad.xml");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("bad.xml:"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("'Nobody'"), std::string::npos) << r.error().message;
  EXPECT_EQ(editor.policy(), original);
}

TEST_F(PolicyEditorTest, MissingFileIsAnIoError) {
  auto r = editor.load_file("/nonexistent/policy.xml");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, acm::Errc::io_error);
  EXPECT_EQ(editor.policy(), original);
}

TEST_F(PolicyEditorTest, AddTypeAndDuplicatesAndBadNames) {
  ASSERT_TRUE(editor.add_type(TypeKind::ste, "C-Bank"));
  EXPECT_EQ(names(editor.policy().ste->types).back(), "C-Bank");
  EXPECT_EQ(editor.undo_description(), "Add STE type 'C-Bank'");
  auto dup = editor.add_type(TypeKind::chwall, "A-Bank");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().message, "CHWALL type 'A-Bank' already exists");
  auto colon = editor.add_type(TypeKind::chwall, "a:b");
  ASSERT_FALSE(colon);
  EXPECT_NE(colon.error().message.find("contains ':'"), std::string::npos) << colon.error().message;
  EXPECT_EQ(editor.undo_steps(), 1u);
}

TEST_F(PolicyEditorTest, RenameTypeFollowsIntoLabelsAndConflictSets) {
  ASSERT_TRUE(editor.rename_type(TypeKind::chwall, "A-Bank", "A-Bank-Group"));
  EXPECT_EQ(names(vm(editor, "A-Bank").chwall_types), Names{"A-Bank-Group"});
  EXPECT_EQ(names(vm(editor, "A-Bank.MarketAnalysis").chwall_types),
            (Names{"A-Bank-Group", "A-Bank.MarketAnalysis"}));
  EXPECT_EQ(names(editor.policy().chwall->conflict_sets[0].types),
            (Names{"A-Bank-Group", "B-Bank", "__UNLABELED__"}));
  // STE types of the same name are another type and keep their name.
  EXPECT_EQ(names(vm(editor, "A-Bank").ste_types), Names{"A-Bank"});

  ASSERT_TRUE(editor.rename_type(TypeKind::ste, "B-Bank", "B-Bank2"));
  EXPECT_EQ(names(vm(editor, "B-Bank").ste_types), Names{"B-Bank2"});
  EXPECT_EQ(names(res(editor, "B-Bank").ste_types), Names{"B-Bank2"});
  EXPECT_EQ(names(vm(editor, "SystemManagement").ste_types)[5], "B-Bank2");
  EXPECT_TRUE(editor.validate());

  auto clash = editor.rename_type(TypeKind::ste, "AutoCorp", "A-Bank");
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().message, "STE type 'A-Bank' already exists");
  auto unknown = editor.rename_type(TypeKind::ste, "Nope", "X");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, acm::Errc::not_found);
  auto space = editor.rename_type(TypeKind::ste, "AutoCorp", "Auto Corp");
  ASSERT_FALSE(space);
  EXPECT_NE(space.error().message.find("contains whitespace"), std::string::npos);
  EXPECT_EQ(editor.undo_steps(), 2u);
  // Renaming to the same name changes nothing and is no step.
  ASSERT_TRUE(editor.rename_type(TypeKind::ste, "AutoCorp", "AutoCorp"));
  EXPECT_EQ(editor.undo_steps(), 2u);
}

TEST_F(PolicyEditorTest, DeleteTypeFollowsOrIsRefusedWithTheCoresReason) {
  // Deleting a CHWALL type: it leaves labels and conflict sets.
  ASSERT_TRUE(editor.delete_type(TypeKind::chwall, "B-Bank"));
  EXPECT_TRUE(vm(editor, "B-Bank").chwall_types.empty());
  EXPECT_EQ(names(editor.policy().chwall->conflict_sets[0].types),
            (Names{"A-Bank", "__UNLABELED__"}));
  // An STE type a resource label carries cannot go: the label would have none.
  auto r = editor.delete_type(TypeKind::ste, "AutoCorp");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, acm::Errc::semantic_error);
  EXPECT_NE(r.error().message.find("resource label 'AutoCorp' must have exactly one STE type"),
            std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find(kMytest + ":"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.rfind("Delete STE type 'AutoCorp' is refused:", 0), 0u);
  EXPECT_EQ(editor.policy().ste->types.size(), 7u);
  // After the resource label is gone the type can be deleted.
  ASSERT_TRUE(editor.delete_label(LabelKind::resource, "AutoCorp"));
  ASSERT_TRUE(editor.delete_type(TypeKind::ste, "AutoCorp"));
  EXPECT_TRUE(vm(editor, "AutoCorp").ste_types.empty());
  EXPECT_TRUE(editor.validate());
}

TEST_F(PolicyEditorTest, DeletingTheLastMemberDeletesTheConflictSet) {
  ASSERT_TRUE(editor.add_type(TypeKind::chwall, "Solo"));
  auto index = editor.add_conflict_set("Lonely", {"Solo"});
  ASSERT_TRUE(index);
  EXPECT_EQ(*index, 2u);
  ASSERT_TRUE(editor.delete_type(TypeKind::chwall, "Solo"));
  EXPECT_EQ(editor.policy().chwall->conflict_sets.size(), 2u);
}

TEST_F(PolicyEditorTest, LabelTypes) {
  ASSERT_TRUE(editor.add_label_type(LabelKind::vm, "AutoCorp", TypeKind::ste, "B-Bank"));
  EXPECT_EQ(names(vm(editor, "AutoCorp").ste_types), (Names{"AutoCorp", "B-Bank"}));
  auto again = editor.add_label_type(LabelKind::vm, "AutoCorp", TypeKind::ste, "B-Bank");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message, "VM label 'AutoCorp' already has STE type 'B-Bank'");
  // Two CHWALL types of one conflict set: the core's reason.
  auto wall = editor.add_label_type(LabelKind::vm, "AutoCorp", TypeKind::chwall, "A-Bank");
  ASSERT_TRUE(wall);  // AutoCorp is in no conflict set, A-Bank is alone there
  auto conflict = editor.add_label_type(LabelKind::vm, "AutoCorp", TypeKind::chwall, "B-Bank");
  ASSERT_FALSE(conflict);
  EXPECT_NE(conflict.error().message.find("of conflict set 'RER'"), std::string::npos)
      << conflict.error().message;
  auto undeclared = editor.add_label_type(LabelKind::vm, "AutoCorp", TypeKind::ste, "Ghost");
  ASSERT_FALSE(undeclared);
  EXPECT_NE(undeclared.error().message.find("undeclared STE type 'Ghost'"), std::string::npos);
  ASSERT_TRUE(editor.remove_label_type(LabelKind::vm, "AutoCorp", TypeKind::chwall, "A-Bank"));
  auto missing = editor.remove_label_type(LabelKind::vm, "AutoCorp", TypeKind::chwall, "A-Bank");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "VM label 'AutoCorp' has no CHWALL type 'A-Bank'");
  // A resource label keeps exactly one STE type: adding or removing is
  // refused, replacing works.
  EXPECT_FALSE(editor.add_label_type(LabelKind::resource, "B-Bank", TypeKind::ste, "AutoCorp"));
  EXPECT_FALSE(editor.remove_label_type(LabelKind::resource, "B-Bank", TypeKind::ste, "B-Bank"));
  EXPECT_FALSE(editor.add_label_type(LabelKind::resource, "B-Bank", TypeKind::chwall, "B-Bank"));
  ASSERT_TRUE(editor.replace_label_type(LabelKind::resource, "B-Bank", TypeKind::ste, "B-Bank",
                                        "AutoCorp"));
  EXPECT_EQ(names(res(editor, "B-Bank").ste_types), Names{"AutoCorp"});
  auto nolabel = editor.add_label_type(LabelKind::vm, "Nobody", TypeKind::ste, "B-Bank");
  ASSERT_FALSE(nolabel);
  EXPECT_EQ(nolabel.error().message, "no VM label 'Nobody'");
  EXPECT_TRUE(editor.validate());
}

TEST_F(PolicyEditorTest, LabelsAndBootstrap) {
  ASSERT_TRUE(editor.add_label(LabelKind::vm, "Auditor", {"A-Bank", "B-Bank"}, {"AutoCorp"}));
  EXPECT_EQ(names(vm(editor, "Auditor").ste_types), (Names{"A-Bank", "B-Bank"}));
  ASSERT_TRUE(editor.add_label(LabelKind::resource, "AuditDisk", {"A-Bank"}));
  EXPECT_FALSE(editor.add_label(LabelKind::resource, "Bare"));  // no STE type
  EXPECT_FALSE(editor.add_label(LabelKind::vm, "Auditor"));     // duplicate
  auto reserved = editor.add_label(LabelKind::resource, "__NULL_LABEL__", {"A-Bank"});
  ASSERT_FALSE(reserved);
  EXPECT_NE(reserved.error().message.find("reserved name"), std::string::npos);

  // Renaming the bootstrap label: the bootstrap follows.
  ASSERT_TRUE(editor.rename_label(LabelKind::vm, "SystemManagement", "Dom0"));
  EXPECT_EQ(editor.policy().bootstrap.name, "Dom0");
  ASSERT_TRUE(editor.rename_label(LabelKind::resource, "AuditDisk", "AuditStore"));
  EXPECT_NE(editor.policy().find_resource_label("AuditStore"), nullptr);
  // The bootstrap label cannot be deleted; another can.
  auto boot = editor.delete_label(LabelKind::vm, "Dom0");
  ASSERT_FALSE(boot);
  EXPECT_NE(boot.error().message.find("bootstrap label 'Dom0' is not a VM label"),
            std::string::npos)
      << boot.error().message;
  ASSERT_TRUE(editor.set_bootstrap("Auditor"));
  EXPECT_EQ(editor.policy().bootstrap.name, "Auditor");
  EXPECT_FALSE(editor.set_bootstrap("__UNLABELED__"));
  EXPECT_FALSE(editor.set_bootstrap("Nobody"));
  ASSERT_TRUE(editor.delete_label(LabelKind::vm, "Dom0"));
  EXPECT_EQ(editor.policy().find_vm_label("Dom0"), nullptr);
  EXPECT_FALSE(editor.delete_label(LabelKind::vm, "Dom0"));
  EXPECT_TRUE(editor.validate());
}

TEST_F(PolicyEditorTest, ConflictSets) {
  auto index = editor.add_conflict_set("Cars", {"AutoCorp", "B-Bank"});
  ASSERT_TRUE(index);
  EXPECT_EQ(editor.policy().chwall->conflict_sets[*index].name, "Cars");
  EXPECT_FALSE(editor.add_conflict_set("Empty", {}));
  EXPECT_FALSE(editor.add_conflict_set("", {"AutoCorp"}));
  auto undeclared = editor.add_conflict_set("X", {"Ghost"});
  ASSERT_FALSE(undeclared);
  EXPECT_NE(undeclared.error().message.find("undeclared Chinese Wall type 'Ghost'"),
            std::string::npos);
  // A VM label holding two members would break the set: the core's reason.
  auto split = editor.add_conflict_members(*index, {"A-Bank.MarketAnalysis", "A-Bank"});
  ASSERT_FALSE(split);
  EXPECT_NE(split.error().message.find("VM label 'A-Bank.MarketAnalysis' holds Chinese Wall types"),
            std::string::npos)
      << split.error().message;
  ASSERT_TRUE(editor.add_conflict_members(*index, {"SystemManagement", "B-Bank"}));
  EXPECT_EQ(names(editor.policy().chwall->conflict_sets[*index].types),
            (Names{"AutoCorp", "B-Bank", "SystemManagement"}));
  EXPECT_FALSE(editor.add_conflict_members(*index, {"B-Bank"}));  // nothing new
  ASSERT_TRUE(editor.remove_conflict_members(*index, {"B-Bank"}));
  EXPECT_FALSE(editor.remove_conflict_members(*index, {"B-Bank"}));
  auto empty = editor.remove_conflict_members(*index, {"AutoCorp", "SystemManagement"});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message, "conflict set 'Cars' would be left empty: delete it instead");
  ASSERT_TRUE(editor.rename_conflict_set(*index, "Vehicles"));
  EXPECT_EQ(editor.policy().chwall->conflict_sets[*index].name, "Vehicles");
  EXPECT_FALSE(editor.rename_conflict_set(*index, ""));
  EXPECT_FALSE(editor.rename_conflict_set(9, "X"));
  ASSERT_TRUE(editor.delete_conflict_set(0));
  EXPECT_EQ(editor.policy().chwall->conflict_sets.size(), 2u);
  EXPECT_EQ(editor.policy().chwall->conflict_sets[1].name, "Vehicles");
  EXPECT_FALSE(editor.delete_conflict_set(2));
  EXPECT_TRUE(editor.validate());
}

TEST_F(PolicyEditorTest, HeaderAndFromPolicy) {
  ASSERT_TRUE(editor.set_policy_name("example.refined"));
  EXPECT_FALSE(editor.set_policy_name("bad name"));
  EXPECT_FALSE(editor.set_version("1"));
  ASSERT_TRUE(editor.set_version("2.3"));
  EXPECT_EQ(editor.policy().header.version, (acm::PolicyVersion{2, 3}));
  // FromPolicy naming this policy must have a lower version.
  auto same = editor.set_from_policy(acm::FromPolicy{"example.refined", {2, 3}});
  ASSERT_FALSE(same);
  ASSERT_TRUE(editor.set_from_policy(acm::FromPolicy{"mytest", {1, 0}}));
  EXPECT_EQ(editor.policy().header.from_policy->name, "mytest");
  ASSERT_TRUE(editor.set_from_policy(std::nullopt));
  EXPECT_FALSE(editor.policy().header.from_policy);
  ASSERT_TRUE(editor.undo());
  ASSERT_TRUE(editor.undo());
  ASSERT_TRUE(editor.undo());
  ASSERT_TRUE(editor.undo());
  EXPECT_EQ(editor.policy(), original);
  ASSERT_TRUE(editor.make_update());
  EXPECT_EQ(editor.policy().header.version, (acm::PolicyVersion{1, 1}));
  ASSERT_TRUE(editor.policy().header.from_policy);
  EXPECT_EQ(*editor.policy().header.from_policy, (acm::FromPolicy{"mytest", {1, 0}}));
  EXPECT_EQ(editor.undo_description(), "Make an update of 'mytest' 1.0");
  EXPECT_TRUE(editor.validate());
}

TEST_F(PolicyEditorTest, UndoRedoAndModified) {
  EXPECT_FALSE(editor.undo());
  EXPECT_FALSE(editor.redo());
  ASSERT_TRUE(editor.rename_type(TypeKind::ste, "A-Bank", "Bank-A"));
  ASSERT_TRUE(editor.add_conflict_set("Cars", {"AutoCorp", "B-Bank"}));
  acm::PolicyModel after = editor.policy();
  EXPECT_TRUE(editor.modified());
  EXPECT_EQ(editor.undo_description(), "Add conflict set 'Cars'");
  ASSERT_TRUE(editor.undo());
  EXPECT_EQ(editor.redo_description(), "Add conflict set 'Cars'");
  EXPECT_EQ(editor.undo_description(), "Rename STE type 'A-Bank' to 'Bank-A'");
  ASSERT_TRUE(editor.undo());
  EXPECT_EQ(editor.policy(), original);
  EXPECT_FALSE(editor.modified());
  ASSERT_TRUE(editor.redo());
  ASSERT_TRUE(editor.redo());
  EXPECT_EQ(editor.policy(), after);
  EXPECT_FALSE(editor.can_redo());
  // A refused operation keeps the redo steps; a new change clears them.
  ASSERT_TRUE(editor.undo());
  EXPECT_FALSE(editor.add_type(TypeKind::ste, "Bank-A"));
  EXPECT_TRUE(editor.can_redo());
  ASSERT_TRUE(editor.add_type(TypeKind::ste, "New"));
  EXPECT_FALSE(editor.can_redo());
}

TEST_F(PolicyEditorTest, SaveWritesValidXmlAtomicallyAndMarksSaved) {
  testing::ScratchDir dir;
  ASSERT_TRUE(editor.rename_type(TypeKind::chwall, "AutoCorp", "Motors"));
  ASSERT_TRUE(editor.add_conflict_set("Cars", {"Motors", "B-Bank"}));
  ASSERT_TRUE(editor.make_update());
  auto path = dir.path() / "refined-security_policy.xml";
  ASSERT_TRUE(editor.save(path));
  EXPECT_FALSE(editor.modified());
  EXPECT_EQ(editor.file(), path);
  auto reloaded = acm::xml::load_policy_file(path);
  ASSERT_TRUE(reloaded) << reloaded.error().to_string();
  EXPECT_EQ(reloaded->model, editor.policy());
  EXPECT_EQ(reloaded->xml_text, editor.xml());
  // Undo past the save makes it modified again.
  ASSERT_TRUE(editor.undo());
  EXPECT_TRUE(editor.modified());
  // An unwritable place is an I/O error and changes nothing.
  auto bad = editor.save(dir.path() / "missing-dir" / "x.xml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, acm::Errc::io_error);
  EXPECT_EQ(editor.file(), path);
  EXPECT_TRUE(editor.modified());
}

TEST_F(PolicyEditorTest, ResetRefusesAnInvalidModel) {
  acm::PolicyModel broken = original;
  broken.bootstrap.name = "Nobody";
  auto r = editor.reset(broken);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, acm::Errc::semantic_error);
  EXPECT_EQ(editor.policy(), original);
  acm::PolicyModel renamed = original;
  renamed.header.name = "other";
  ASSERT_TRUE(editor.reset(renamed, "other.xml"));
  EXPECT_EQ(editor.policy().header.name, "other");
  EXPECT_FALSE(editor.modified());
}

TEST_F(PolicyEditorTest, ValidateCompilesAndReportsWarnings) {
  auto compiled = editor.validate();
  ASSERT_TRUE(compiled) << compiled.error().to_string();
  ASSERT_TRUE(editor.add_conflict_set("Single", {"AutoCorp"}));
  auto w = editor.warnings();
  ASSERT_FALSE(w.empty());
  EXPECT_NE(w.to_string().find("conflict set 'Single' has a single type"), std::string::npos);
}

}  // namespace
}  // namespace shype::ezpolicy
