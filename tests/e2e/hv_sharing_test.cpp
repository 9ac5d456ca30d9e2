// Sharing between guests, end to end: two guest_pair domains exchange data
// through a grant and an event channel when the policy lets their labels
// share, are refused (and audited) when it does not, and the policy cannot
// be changed, nor a domain relabelled, under a live channel or mapping it
// would forbid. Then every attack of guest_rogue on the event-channel and
// grant surfaces is refused or kills only the rogue while a well-behaved
// pair keeps exchanging.
//
// The Chinese Wall refusing a conflicting domain and admitting it once the
// other is destroyed is HvAcmTest.ChineseWallKeepsTheBanksApartAndAuditsIt
// (hv_xsm_test.cpp).
#include <algorithm>
#include <regex>

#include <nlohmann/json.hpp>

#include "acm/compact_format.hpp"
#include "acm/compiler.hpp"
#include "acm/map_file.hpp"
#include "acm/policy_change.hpp"
#include "hv_fixture.hpp"
#include "policy_fixtures.hpp"

namespace shype::testing {
namespace {

inline const fs::path kGuestPair = GUEST_PAIR_PATH;

struct Compiled {
  acm::PolicyModel model;
  acm::LabelNumbering numbering;
  std::vector<std::uint8_t> compact;
  std::vector<acm::MapLabel> labels;

  std::uint32_t ssidref(const std::string& label) const {
    auto ssidref = acm::find_label_ssidref(labels, label, 'V');
    if (!ssidref) throw std::runtime_error(ssidref.error().to_string());
    return *ssidref;
  }
};

Compiled compile(const acm::PolicyModel& model) {
  auto policy = acm::compile_policy(model, {});
  if (!policy) throw std::runtime_error(policy.error().to_string());
  return Compiled{model, policy->numbering, acm::write_compact_policy(policy->image),
                  acm::map_labels(policy->image)};
}

// The manual's mytest policy (1.0) and its update (1.1, A-Bank departments
// renamed).
const Compiled& mytest() {
  static const Compiled compiled = compile(acm::testing::mytest_model());
  return compiled;
}
const Compiled& mytest_update() {
  static const Compiled compiled = compile(acm::testing::mytest_update_model());
  return compiled;
}
// The update, except that SystemManagement no longer holds the A-Bank STE
// type: a SystemManagement guest and an A-Bank guest could no longer share.
const Compiled& mytest_update_split() {
  static const Compiled compiled = [] {
    acm::PolicyModel model = acm::testing::mytest_update_model();
    for (acm::Label& label : model.vm_labels) {
      if (label.name != "SystemManagement") continue;
      std::erase_if(label.ste_types, [](const acm::NamedItem& t) { return t.name == "A-Bank"; });
    }
    return compile(model);
  }();
  return compiled;
}

struct AuditRecord {
  std::string line;
  nlohmann::json json;
};

class HvSharingTest : public HypervisorTest {
 protected:
  struct Pair {
    abi::domid_t server = 0;
    abi::domid_t client = 0;
    unsigned port = 0;
    unsigned ref = 0;
  };

  void load_mytest() {
    auto outcome = xc().set_policy(mytest().compact);
    ASSERT_TRUE(outcome) << outcome.error().to_string();
  }

  std::string unique_name(const std::string& stem) { return stem + "-" + std::to_string(++names_); }

  // Waits for "pair: offer port=<n> ref=<r>" on the server's console.
  bool read_offer(abi::domid_t server, unsigned* port, unsigned* ref) {
    static const std::regex kOffer(R"(pair: offer port=(\d+) ref=(\d+))");
    std::smatch match;
    std::string text;
    const bool seen = eventually(
        [&] {
          text = console(server);
          return std::regex_search(text, match, kOffer);
        },
        20s);
    if (!seen) return false;
    *port = static_cast<unsigned>(std::stoul(match[1].str()));
    *ref = static_cast<unsigned>(std::stoul(match[2].str()));
    return true;
  }

  // Creates a server, then a client; relays the client's domid to the
  // server and the server's offer to the client (console input). With
  // `before_offer_relayed` the test acts between the offer and the relay.
  Pair start_pair(std::uint32_t server_ssidref, std::uint32_t client_ssidref,
                  const std::string& server_args = "", const std::string& client_args = "",
                  const std::function<void(const Pair&)>& before_offer_relayed = {}) {
    Pair pair;
    pair.server = create(unique_name("pair-server"), kGuestPair,
                         "role=server wait=60 " + server_args, server_ssidref);
    pair.client =
        create(unique_name("pair-client"), kGuestPair,
               "role=client wait=60 peer=" + std::to_string(pair.server) + " " + client_args,
               client_ssidref);
    if (pair.server == 0 || pair.client == 0) return pair;
    EXPECT_TRUE(xc().console_write(pair.server, "peer=" + std::to_string(pair.client) + "\n"));
    if (!read_offer(pair.server, &pair.port, &pair.ref)) {
      ADD_FAILURE() << "no offer from the server: " << console(pair.server);
      return pair;
    }
    if (before_offer_relayed) before_offer_relayed(pair);
    EXPECT_TRUE(xc().console_write(pair.client, "port=" + std::to_string(pair.port) +
                                                    " ref=" + std::to_string(pair.ref) + "\n"));
    return pair;
  }

  bool finished(abi::domid_t domid, std::chrono::milliseconds timeout = 60s) {
    return state_becomes(
        domid, [](const xc::DomainInfo& i) { return i.shutdown() || i.crashed(); }, timeout);
  }

  // Whether the console grows by another "pair: progress" line within 5 s.
  bool keeps_exchanging(abi::domid_t domid) {
    const std::string before = console(domid);
    const auto count = [](const std::string& text) {
      std::size_t n = 0;
      for (auto at = text.find("pair: progress "); at != std::string::npos;
           at = text.find("pair: progress ", at + 1)) {
        ++n;
      }
      return n;
    };
    const std::size_t lines = count(before);
    return eventually([&] { return count(console(domid)) > lines; }, 5s);
  }

  std::vector<AuditRecord> audit() {
    std::vector<AuditRecord> records;
    std::uint64_t from = 1;
    for (int i = 0; i < 64; ++i) {
      auto chunk = xc().audit_read(from);
      if (!chunk) {
        ADD_FAILURE() << chunk.error().to_string();
        break;
      }
      for (const std::string& line : chunk->records)
        records.push_back({line, nlohmann::json::parse(line)});
      if (chunk->records.empty() || chunk->next_seq == from) break;
      from = chunk->next_seq;
    }
    return records;
  }

  // The denial by `hook` with `subject` asking about `object`, if any.
  std::optional<AuditRecord> denial(const std::string& hook, abi::domid_t subject,
                                    abi::domid_t object) {
    for (AuditRecord& record : audit()) {
      const auto& j = record.json;
      if (j.value("hook", "") == hook && j.value("decision", "") == "deny" &&
          j["subject"].value("domid", -1) == subject && j["object"].value("domid", -1) == object) {
        return record;
      }
    }
    return std::nullopt;
  }

  void expect_denial(const std::string& hook, abi::domid_t subject,
                     const std::string& subject_label, abi::domid_t object,
                     const std::string& object_label) {
    const auto record = denial(hook, subject, object);
    ASSERT_TRUE(record) << "no " << hook << " denial of " << subject << " -> " << object;
    EXPECT_EQ(record->json["status"], -EACCES) << record->line;
    EXPECT_EQ(record->json["subject"]["label"], subject_label) << record->line;
    EXPECT_EQ(record->json["object"]["label"], object_label) << record->line;
    EXPECT_EQ(record->json["policy"]["name"], "mytest") << record->line;
  }

  int names_ = 0;
};

// --- functional: sharing labels share -------------------------------------------------

TEST_F(HvSharingTest, SharingLabelsExchangeData) {
  load_mytest();
  const auto bank = mytest().ssidref("A-Bank");
  const Pair pair = start_pair(bank, bank, "count=1000", "count=1000");
  ASSERT_NE(pair.client, 0);
  EXPECT_TRUE(console_shows(pair.client, "pair: exchanged 1000 messages ok", 60s))
      << console(pair.client);
  EXPECT_TRUE(console_shows(pair.server, "pair: exchanged 1000 messages ok", 60s))
      << console(pair.server);
  for (const abi::domid_t d : {pair.server, pair.client}) {
    ASSERT_TRUE(finished(d)) << console(d);
    EXPECT_FALSE(info(d)->crashed()) << console(d);
    EXPECT_EQ(info(d)->shutdown_reason, abi::ShutdownReason::poweroff) << console(d);
  }
}

TEST_F(HvSharingTest, PingPongModeCountsRoundTrips) {
  const Pair pair = start_pair(0, 0, "mode=pingpong", "mode=pingpong seconds=1");
  ASSERT_NE(pair.client, 0);
  static const std::regex kDone(R"(pair: pingpong (\d+) round trips in \d+ ms, \d+ per second)");
  std::smatch match;
  std::string text;
  ASSERT_TRUE(eventually(
      [&] {
        text = console(pair.client);
        return std::regex_search(text, match, kDone);
      },
      30s))
      << console(pair.client);
  EXPECT_GT(std::stoul(match[1].str()), 100u) << text;
  EXPECT_TRUE(console_shows(pair.server, "pair: pingpong served ", 30s)) << console(pair.server);
  for (const abi::domid_t d : {pair.server, pair.client}) {
    ASSERT_TRUE(finished(d)) << console(d);
    EXPECT_FALSE(info(d)->crashed()) << console(d);
  }
}

// --- resources: the hypervisor's descriptors -----------------------------------------

// With RLIMIT_NOFILE 3000 the hypervisor keeps at most 1500 descriptors for
// grants and event channels, and one domain at most an equal share of them
// (Hypervisor::check_sharing_budget). Two guests flooding grants are cut
// off at their shares, well below the grant table's 1024, and a pair that
// comes afterwards still sets up its channel and grant and exchanges.
class HvSharingBudgetTest : public HvSharingTest {
 protected:
  rlim_t descriptor_limit() const override { return 3000; }
};

TEST_F(HvSharingBudgetTest, FloodingGuestsGetTheirShareAndOthersStillShare) {
  static const std::regex kFlood(
      R"(rogue: grant-flood: (\d+) grants of \d+ frames, then refused -28)");
  // Domain-0 and one flooder: half of 1500 each. Then three domains: 500.
  const unsigned expected_share[] = {750, 500};
  for (const unsigned share : expected_share) {
    const abi::domid_t rogue = create(unique_name("flood"), kGuestRogue, "grant-flood peer=0");
    ASSERT_NE(rogue, 0);
    ASSERT_TRUE(finished(rogue, 60s)) << console(rogue);
    const std::string said = console(rogue);
    std::smatch match;
    ASSERT_TRUE(std::regex_search(said, match, kFlood)) << said;
    EXPECT_EQ(std::stoul(match[1].str()), share) << said;
  }
  const Pair pair = start_pair(0, 0, "count=200", "count=200");
  ASSERT_NE(pair.client, 0);
  EXPECT_TRUE(console_shows(pair.client, "pair: exchanged 200 messages ok", 60s))
      << console(pair.client);
}

// --- security: labels that do not share -------------------------------------------------

TEST_F(HvSharingTest, NonSharingLabelsCannotOffer) {
  load_mytest();
  const abi::domid_t other =
      create(unique_name("autocorp"), kGuestHello, "", mytest().ssidref("AutoCorp"));
  ASSERT_NE(other, 0);
  const abi::domid_t server =
      create(unique_name("pair-server"), kGuestPair, "role=server peer=" + std::to_string(other),
             mytest().ssidref("A-Bank"));
  ASSERT_NE(server, 0);
  EXPECT_TRUE(console_shows(server, "pair: alloc_unbound refused: -13")) << console(server);
  EXPECT_TRUE(console_shows(server, "pair: grant refused: -13")) << console(server);
  ASSERT_TRUE(finished(server));
  EXPECT_EQ(info(server)->shutdown_reason, abi::ShutdownReason::crash);
  expect_denial("evtchn_unbound", server, "A-Bank", other, "AutoCorp");
  expect_denial("grant_setup", server, "A-Bank", other, "AutoCorp");
}

TEST_F(HvSharingTest, NonSharingLabelsRefuseTheBindAndTheMap) {
  load_mytest();
  const auto bank = mytest().ssidref("A-Bank");
  // Offered while both are A-Bank; the client is relabelled AutoCorp
  // (allowed: an unbound port and an unmapped grant share nothing yet)
  // before it learns the offer, so its bind and map meet the policy.
  const Pair pair = start_pair(bank, bank, "", "", [&](const Pair& p) {
    const abi::AcmRelabelEntry entry{p.client, mytest().ssidref("AutoCorp")};
    auto relabeled = xc().relabel({&entry, 1});
    ASSERT_TRUE(relabeled) << relabeled.error().to_string();
  });
  ASSERT_NE(pair.client, 0);
  EXPECT_TRUE(console_shows(pair.client, "pair: bind refused: -13")) << console(pair.client);
  EXPECT_TRUE(console_shows(pair.client, "pair: map refused: -13")) << console(pair.client);
  ASSERT_TRUE(finished(pair.client));
  EXPECT_EQ(info(pair.client)->shutdown_reason, abi::ShutdownReason::crash);
  expect_denial("evtchn_interdomain", pair.client, "AutoCorp", pair.server, "A-Bank");
  expect_denial("grant_map", pair.client, "AutoCorp", pair.server, "A-Bank");
  // The names of both domains are in the records too.
  const auto record = denial("grant_map", pair.client, pair.server);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->json["subject"]["name"], "pair-client-2") << record->line;
  EXPECT_EQ(record->json["object"]["name"], "pair-server-1") << record->line;
  // The server is not harmed: it is still waiting for a binding.
  EXPECT_FALSE(info(pair.server)->shutdown()) << console(pair.server);
}

// --- policy changes under live sharing ---------------------------------------------------

TEST_F(HvSharingTest, ChgpolicyRenamesRunningLabels) {
  load_mytest();
  const auto su = mytest().ssidref("A-Bank.SecurityUnderwriting");
  const Pair pair = start_pair(su, su, "count=0", "count=0");
  ASSERT_NE(pair.client, 0);
  ASSERT_TRUE(keeps_exchanging(pair.client)) << console(pair.client);

  const std::vector<acm::RunningDomainLabel> running{
      {0, "Domain-0", "SystemManagement"},
      {pair.server, "pair-server-1", "A-Bank.SecurityUnderwriting"},
      {pair.client, "pair-client-2", "A-Bank.SecurityUnderwriting"}};
  const acm::ActivePolicy active{mytest().model, mytest().numbering};
  auto plan = acm::plan_policy_change(active, mytest_update().model,
                                      acm::SystemSnapshot{running, {}, {}, {}});
  ASSERT_TRUE(plan) << plan.error().to_string();
  auto changed =
      xc().change_policy(mytest_update().compact, plan->delete_array, plan->change_array);
  ASSERT_TRUE(changed) << changed.error().to_string();

  for (const abi::domid_t d : {pair.server, pair.client}) {
    auto ssid = xc().get_ssid(abi::kAcmGetByDomid, d);
    ASSERT_TRUE(ssid) << ssid.error().to_string();
    EXPECT_STREQ(ssid->label, "A-Bank.SU");
    EXPECT_EQ(ssid->version_minor, 1u);
    EXPECT_EQ(info(d)->ssidref, mytest_update().ssidref("A-Bank.SU"));
  }
  auto policy = xc().get_policy();
  ASSERT_TRUE(policy);
  EXPECT_EQ(*policy, mytest_update().compact);
  // Still sharing under the new names.
  EXPECT_TRUE(keeps_exchanging(pair.client)) << console(pair.client);
}

TEST_F(HvSharingTest, ChgpolicyRefusedUnderLiveSharing) {
  load_mytest();
  // A SystemManagement guest and an A-Bank guest share the A-Bank type now;
  // under mytest_update_split they would not.
  const Pair pair = start_pair(mytest().ssidref("A-Bank"), mytest().ssidref("SystemManagement"),
                               "count=100 linger=1", "count=100 linger=1");
  ASSERT_NE(pair.client, 0);
  ASSERT_TRUE(console_shows(pair.client, "pair: lingering", 60s)) << console(pair.client);
  ASSERT_TRUE(console_shows(pair.server, "pair: lingering", 60s)) << console(pair.server);

  const auto decision = [&] {
    auto d = xc().get_decision(abi::kAcmGetByDomid, pair.server, abi::kAcmGetByDomid, pair.client,
                               abi::AcmHook::sharing);
    EXPECT_TRUE(d) << d.error().to_string();
    return d ? *d : -1;
  };
  ASSERT_EQ(decision(), abi::kAcmAccessPermitted);
  // The change arrays of the plain update fit the split variant (same labels).
  const std::vector<acm::RunningDomainLabel> running{
      {0, "Domain-0", "SystemManagement"},
      {pair.server, "pair-server-1", "A-Bank"},
      {pair.client, "pair-client-2", "SystemManagement"}};
  auto plan = acm::plan_policy_change({mytest().model, mytest().numbering}, mytest_update().model,
                                      acm::SystemSnapshot{running, {}, {}, {}});
  ASSERT_TRUE(plan) << plan.error().to_string();

  auto refused =
      xc().change_policy(mytest_update_split().compact, plan->delete_array, plan->change_array);
  ASSERT_FALSE(refused) << "chgpolicy accepted a policy that breaks a live channel";
  EXPECT_EQ(refused.error().code, EFAULT) << refused.error().to_string();
  const std::string why = refused.error().to_string();
  EXPECT_NE(why.find("ACM_EVTCHN_SHARING_VIOLATION"), std::string::npos) << why;
  EXPECT_NE(why.find("ACM_GNTTAB_SHARING_VIOLATION"), std::string::npos) << why;

  // The old policy is fully active: bytes, names, decisions.
  auto policy = xc().get_policy();
  ASSERT_TRUE(policy);
  EXPECT_EQ(*policy, mytest().compact);
  auto ssid = xc().get_ssid(abi::kAcmGetByDomid, pair.client);
  ASSERT_TRUE(ssid);
  EXPECT_STREQ(ssid->label, "SystemManagement");
  EXPECT_EQ(ssid->version_minor, 0u);
  EXPECT_EQ(decision(), abi::kAcmAccessPermitted);
  EXPECT_EQ(info(pair.client)->ssidref, mytest().ssidref("SystemManagement"));
  for (const abi::domid_t d : {pair.server, pair.client})
    EXPECT_FALSE(info(d)->shutdown()) << console(d);
}

TEST_F(HvSharingTest, RelabelRefusedUnderLiveChannel) {
  load_mytest();
  const auto bank = mytest().ssidref("A-Bank");
  const Pair pair = start_pair(bank, bank, "count=0", "count=0");
  ASSERT_NE(pair.client, 0);
  ASSERT_TRUE(keeps_exchanging(pair.client)) << console(pair.client);

  const abi::AcmRelabelEntry entry{pair.client, mytest().ssidref("AutoCorp")};
  auto refused = xc().relabel({&entry, 1});
  ASSERT_FALSE(refused) << "relabel accepted under a live channel";
  const std::string why = refused.error().to_string();
  EXPECT_NE(why.find("SHARING_VIOLATION"), std::string::npos) << why;
  EXPECT_EQ(info(pair.client)->ssidref, bank);
  auto ssid = xc().get_ssid(abi::kAcmGetByDomid, pair.client);
  ASSERT_TRUE(ssid);
  EXPECT_STREQ(ssid->label, "A-Bank");
  EXPECT_TRUE(keeps_exchanging(pair.client)) << console(pair.client);

  // A domain without a channel may take the same label (the control).
  const abi::domid_t loner = create(unique_name("loner"), kGuestHello, "", bank);
  const abi::AcmRelabelEntry loner_entry{loner, mytest().ssidref("AutoCorp")};
  auto accepted = xc().relabel({&loner_entry, 1});
  EXPECT_TRUE(accepted) << accepted.error().to_string();
}

// --- security: the rogue against the sharing surfaces ----------------------------------

// What an attack needs besides itself.
enum class Setup {
  none,            // nothing
  victim,          // the well-behaved pair's server: peer, port, ref, client
  readonly_grant,  // an accomplice server that grants a page read-only to the rogue
};

struct SharingAttack {
  const char* name;
  Setup setup;
  bool kills_rogue;   // else: the rogue reports every step refused and powers off
  const char* shows;  // on the rogue's console
};

void PrintTo(const SharingAttack& attack, std::ostream* out) {
  *out << attack.name;
}

class HvSharingAttackTest : public HvSharingTest,
                            public ::testing::WithParamInterface<SharingAttack> {};

TEST_P(HvSharingAttackTest, OnlyTheRogueLoses) {
  const SharingAttack& attack = GetParam();
  load_mytest();
  const auto bank = mytest().ssidref("A-Bank");
  const Pair pair = start_pair(bank, bank, "count=0", "count=0");
  ASSERT_NE(pair.client, 0);
  ASSERT_TRUE(keeps_exchanging(pair.client)) << console(pair.client);

  std::string cmdline = attack.name;
  abi::domid_t accomplice = 0;
  switch (attack.setup) {
    case Setup::none:
      cmdline += " peer=" + std::to_string(pair.server);
      break;
    case Setup::victim:
      cmdline += " peer=" + std::to_string(pair.server) + " port=" + std::to_string(pair.port) +
                 " ref=" + std::to_string(pair.ref) + " client=" + std::to_string(pair.client);
      break;
    case Setup::readonly_grant:
      accomplice = create(unique_name("accomplice"), kGuestPair, "role=server ro=1 wait=60", bank);
      ASSERT_NE(accomplice, 0);
      cmdline += " peer=" + std::to_string(accomplice);
      break;
  }
  const abi::domid_t rogue = create(unique_name("rogue"), kGuestRogue, cmdline, bank);
  ASSERT_NE(rogue, 0);
  if (attack.setup == Setup::readonly_grant) {
    ASSERT_TRUE(xc().console_write(accomplice, "peer=" + std::to_string(rogue) + "\n"));
    unsigned port = 0;
    unsigned ref = 0;
    ASSERT_TRUE(read_offer(accomplice, &port, &ref)) << console(accomplice);
    ASSERT_TRUE(xc().console_write(
        rogue, "ref=" + std::to_string(ref) + " port=" + std::to_string(port) + "\n"));
  }

  ASSERT_TRUE(finished(rogue, 120s)) << console(rogue);
  const std::string said = console(rogue);
  const auto state = info(rogue);
  ASSERT_TRUE(state);
  EXPECT_NE(said.find(attack.shows), std::string::npos) << said;
  for (const char* bad : {"UNEXPECTED", "NOT BLOCKED", "NOT ALL REFUSED", "CONTROL FAILED",
                          "NO ARGUMENT", "BAD ARGUMENT", "unknown attack"}) {
    EXPECT_EQ(said.find(bad), std::string::npos) << said;
  }
  if (attack.kills_rogue) {
    EXPECT_TRUE(state->crashed()) << said;
    const std::string log = slurp(root_ / "var/log/xen/shype-hv.log");
    EXPECT_NE(log.find("killed by SIGSEGV"), std::string::npos) << log;
  } else {
    EXPECT_FALSE(state->crashed()) << said;
    EXPECT_EQ(state->shutdown_reason, abi::ShutdownReason::poweroff) << said;
    EXPECT_NE(said.find("refused"), std::string::npos) << said;
  }

  // Only the rogue was touched: the pair keeps exchanging, the hypervisor
  // answers, and the pair's domains are neither shut down nor crashed.
  EXPECT_TRUE(keeps_exchanging(pair.client)) << console(pair.client);
  for (const abi::domid_t d : {pair.server, pair.client}) {
    const auto i = info(d);
    ASSERT_TRUE(i);
    EXPECT_FALSE(i->shutdown() || i->crashed()) << console(d);
  }
  EXPECT_EQ(console(pair.client).find("pair: bad"), std::string::npos) << console(pair.client);
  EXPECT_EQ(console(pair.server).find("pair: bad"), std::string::npos) << console(pair.server);
  EXPECT_TRUE(xc().version().has_value());
}

constexpr SharingAttack kSharingAttacks[] = {
    {"evtchn-bind-unoffered", Setup::victim, false, "bind to the peer's port: refused -22"},
    {"evtchn-bind-invalid", Setup::victim, false, "all refused"},
    {"evtchn-send-foreign", Setup::victim, false, "all refused"},
    {"evtchn-flood", Setup::none, false, "1023 ports, then refused -28"},
    {"evtchn-stale-doorbell", Setup::none, false,
     "stale doorbells reaching the new binding: refused"},
    {"grant-map-unoffered", Setup::victim, false, "all refused"},
    {"grant-map-forged", Setup::victim, false, "all refused"},
    {"grant-map-rw-readonly", Setup::readonly_grant, false,
     "writable map of a read-only grant: refused"},
    {"grant-ro-write", Setup::readonly_grant, true, "writing through a read-only mapping"},
    {"grant-foreign-frame", Setup::none, false, "all refused"},
    {"grant-end-unowned", Setup::none, false, "all refused"},
    {"grant-unmap-unowned", Setup::none, false, "all refused"},
    {"grant-flood", Setup::none, false, "1024 grants of 2048 frames, then refused -28"},
};

INSTANTIATE_TEST_SUITE_P(Attacks, HvSharingAttackTest, ::testing::ValuesIn(kSharingAttacks),
                         [](const ::testing::TestParamInfo<SharingAttack>& param) {
                           std::string name = param.param.name;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace shype::testing
