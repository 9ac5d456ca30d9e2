// vtpm_managerd + vtpmctl + tpm2-tools, as an administrator uses them
// (docs/vtpm.md). Each test has its own temporary SHYPE_ROOT; the manager is
// stopped by pid at the end of every test (also on failure), and its workers
// die with it (PR_SET_PDEATHSIG). Every wait is bounded (run_process).
#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "process.hpp"
#include "swtpm_process.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using shype::testing::ProcessResult;
using shype::testing::run_process;
using shype::testing::on_path;

constexpr const char* kPcrValue =
    "0000000000000000000000000000000000000000000000000000000000000001";
// sha256(zeros(32) || 00..01): PCR 16 after one extend with kPcrValue.
constexpr const char* kPcrExtended =
    "0x90F4B39548DF55AD6187A1D20D731ECEE78C545B94AFD16F42EF7592D99CD365";

class VtpmManagerE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {"swtpm", "tpm2_startup", "tpm2_pcrextend", "tpm2_pcrread",
                             "tpm2_nvdefine", "tpm2_nvwrite", "tpm2_nvread", "tpm2_getrandom"}) {
      if (!on_path(tool)) {
        GTEST_SKIP() << tool
                     << " is not installed (scripts/install-deps.sh installs swtpm and "
                        "tpm2-tools); skipping the vTPM end-to-end tests";
      }
    }
    std::string templ = (fs::temp_directory_path() / "vtpm-e2e-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    root_ = templ;
    ::setenv("SHYPE_ROOT", root_.c_str(), 1);
    // The platform TPM the manager seals its key to; outside SHYPE_ROOT so
    // that a test can wipe or keep the manager's files independently.
    platform_ = std::make_unique<shype::testing::SwtpmProcess>(root_.string() + "-platform");
    ::setenv("SHYPE_VTPM_PLATFORM_TCTI", platform_->tcti().c_str(), 1);
    started_ = true;
  }

  void TearDown() override {
    if (!started_) return;
    stop_manager();
    platform_.reset();
    ::unsetenv("SHYPE_VTPM_PLATFORM_TCTI");
    std::error_code ec;
    fs::remove_all(root_, ec);
    for (const char* suffix : {"-platform", "-snapshot", "-current", "-sealed", "-other-platform"})
      fs::remove_all(root_.string() + suffix, ec);
  }

  ProcessResult managerd(const std::string& command) {
    auto r = run_process({VTPM_MANAGERD_PATH, command}, std::chrono::seconds(20));
    if (command == "start" || command == "restart") remember_pid();
    return r;
  }
  void remember_pid() {
    std::ifstream in(root_ / "run/vtpm/vtpm_managerd.pid");
    pid_t pid = 0;
    if (in >> pid && pid > 0) pids_.push_back(pid);
  }
  // `vtpm_managerd stop`, then SIGKILL to every manager pid this test
  // started that is somehow still alive.
  void stop_manager() {
    (void)run_process({VTPM_MANAGERD_PATH, "stop"}, std::chrono::seconds(20));
    for (pid_t pid : pids_) {
      if (::kill(pid, 0) == 0) ::kill(pid, SIGKILL);
    }
    pids_.clear();
  }

  ProcessResult ctl(std::vector<std::string> args) {
    args.insert(args.begin(), VTPMCTL_PATH);
    return run_process(args, std::chrono::seconds(20));
  }
  json ctl_json(std::vector<std::string> args) {
    args.insert(args.begin(), "--json");
    auto r = ctl(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }
  ProcessResult tool(const std::string& name, std::vector<std::string> args,
                     const std::string& tcti) {
    args.insert(args.begin(), *on_path(name));
    args.push_back("--tcti=" + tcti);
    return run_process(args, std::chrono::seconds(15));
  }
  std::string pcr16(const std::string& tcti) {
    auto r = tool("tpm2_pcrread", {"sha256:16"}, tcti);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const auto at = r.out.find("16: ");
    return at == std::string::npos ? r.out : r.out.substr(at + 4, 66);
  }
  pid_t worker_pid(const std::string& ref) {
    const json list = ctl_json({"list"});
    for (const auto& i : list["instances"]) {
      if (i["name"] == ref || std::to_string(i["instance"].get<int>()) == ref)
        return i["pid"].get<pid_t>();
    }
    return 0;
  }

  fs::path saved(int instance, const std::string& file) const {
    return root_ / "var/lib/vtpm/instances" / std::to_string(instance) / "saved" / file;
  }
  static std::string contents(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }
  // Starts an instance, extends its PCR 16 once, and stops it (saved).
  std::string started_and_extended(const std::string& name) {
    EXPECT_EQ(ctl({"start", name}).exit_code, 0);
    const std::string t = ctl({"tcti", name}).out;
    const std::string tcti = t.substr(0, t.find('\n'));
    EXPECT_EQ(tool("tpm2_startup", {"-c"}, tcti).exit_code, 0);
    EXPECT_EQ(tool("tpm2_pcrextend", {std::string("16:sha256=") + kPcrValue}, tcti).exit_code, 0);
    return tcti;
  }

  fs::path root_;
  std::unique_ptr<shype::testing::SwtpmProcess> platform_;
  std::vector<pid_t> pids_;
  bool started_ = false;
};

TEST_F(VtpmManagerE2E, PcrsAndNvSurviveStopStartAndManagerRestart) {
  ASSERT_EQ(managerd("start").exit_code, 0);
  auto created = ctl({"create", "web", "--instance", "3"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  // Instance 3 is bound to web: db asks for 3 and gets the lowest free one.
  auto db = ctl_json({"create", "db", "--instance", "3"});
  EXPECT_EQ(db["instance"], 1);
  ASSERT_EQ(ctl({"start", "web"}).exit_code, 0);
  auto tcti = ctl({"tcti", "web"});
  ASSERT_EQ(tcti.exit_code, 0);
  const std::string t = tcti.out.substr(0, tcti.out.find('\n'));
  EXPECT_EQ(t, "swtpm:path=" + (root_ / "run/vtpm/3/tpm.sock").string());

  ASSERT_EQ(tool("tpm2_startup", {"-c"}, t).exit_code, 0);
  ASSERT_EQ(tool("tpm2_pcrextend", {std::string("16:sha256=") + kPcrValue}, t).exit_code, 0);
  EXPECT_EQ(pcr16(t), kPcrExtended);
  ASSERT_EQ(
      tool("tpm2_nvdefine", {"0x1500016", "-C", "o", "-s", "8", "-a", "ownerread|ownerwrite"}, t)
          .exit_code,
      0);
  const fs::path data = root_ / "nv.in";
  std::ofstream(data) << "shype-nv";
  ASSERT_EQ(tool("tpm2_nvwrite", {"0x1500016", "-C", "o", "-i", data.string()}, t).exit_code, 0);
  const auto nv = [&] { return tool("tpm2_nvread", {"0x1500016", "-C", "o", "-s", "8"}, t).out; };
  EXPECT_EQ(nv(), "shype-nv");

  ASSERT_EQ(ctl({"stop", "3"}).exit_code, 0);
  EXPECT_EQ(ctl_json({"list"})["instances"][1]["status"], "stopped");
  EXPECT_NE(tool("tpm2_getrandom", {"4"}, t).exit_code, 0);  // nobody listens
  ASSERT_EQ(ctl({"start", "3"}).exit_code, 0);
  EXPECT_EQ(pcr16(t), kPcrExtended);
  EXPECT_EQ(nv(), "shype-nv");

  // The manager saves its running instances when it stops and starts them
  // again when it starts.
  ASSERT_EQ(managerd("restart").exit_code, 0);
  EXPECT_EQ(ctl_json({"list"})["instances"][1]["status"], "running");
  EXPECT_EQ(pcr16(t), kPcrExtended);
  EXPECT_EQ(nv(), "shype-nv");

  auto deleted = ctl({"delete", "web"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_FALSE(fs::exists(root_ / "var/lib/vtpm/instances/3"));
  auto gone = ctl({"tcti", "web"});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_EQ(gone.err, "vtpmctl: no vTPM instance is bound to a domain named or with uuid 'web'\n");
}

// The instance quotes its own PCRs with tpm2-tools, as a researcher's
// verifier would ask it: an EK, an AK under it, a quote of PCR 16 over a
// nonce, checked by tpm2_checkquote against the AK; the same quote with
// another nonce fails the check. After a manager restart the instance
// still quotes the extended PCR 16.
TEST_F(VtpmManagerE2E, InstanceQuotesItsPcrsWithTpm2Tools) {
  for (const char* t :
       {"tpm2_createek", "tpm2_createak", "tpm2_quote", "tpm2_checkquote", "tpm2_flushcontext"}) {
    if (!on_path(t)) GTEST_SKIP() << t << " is not installed";
  }
  ASSERT_EQ(managerd("start").exit_code, 0);
  ASSERT_EQ(ctl({"create", "web"}).exit_code, 0);
  const std::string t = started_and_extended("web");
  const fs::path dir = root_ / "quote";
  fs::create_directories(dir);
  const auto at = [&](const char* f) { return (dir / f).string(); };
  // No resource manager sits in front of the instance (the swtpm TCTI talks
  // to it directly), so each tool's transient objects are flushed after it,
  // as on a bare TPM.
  const auto flushed = [&] {
    const auto f = tool("tpm2_flushcontext", {"-t"}, t);
    EXPECT_EQ(f.exit_code, 0) << f.err;
  };
  auto r = tool("tpm2_createek", {"-c", at("ek.ctx"), "-G", "rsa", "-u", at("ek.pub")}, t);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  flushed();
  r = tool("tpm2_createak", {"-C", at("ek.ctx"), "-c", at("ak.ctx"), "-G", "rsa", "-g", "sha256",
                             "-s", "rsassa", "-u", at("ak.pem"), "-f", "pem", "-n", at("ak.name")},
           t);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  flushed();
  const auto quote = [&](const std::string& nonce) {
    return tool("tpm2_quote", {"-c", at("ak.ctx"), "-l", "sha256:16", "-q", nonce, "-m",
                               at("quote.msg"), "-s", at("quote.sig"), "-o", at("quote.pcrs"),
                               "-g", "sha256"},
                t);
  };
  const auto check = [&](const std::string& nonce) {
    return run_process({*on_path("tpm2_checkquote"), "-u", at("ak.pem"), "-m", at("quote.msg"),
                        "-s", at("quote.sig"), "-f", at("quote.pcrs"), "-g", "sha256", "-q",
                        nonce},
                       std::chrono::seconds(15));
  };
  r = quote("5a17e1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = check("5a17e1");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  // The quoted PCR 16 is the extended value.
  std::string expected = std::string(kPcrExtended).substr(2);
  std::transform(expected.begin(), expected.end(), expected.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string shown = r.out;
  std::transform(shown.begin(), shown.end(), shown.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  EXPECT_NE(shown.find(expected), std::string::npos) << r.out;
  r = check("000000");
  EXPECT_NE(r.exit_code, 0) << "a quote checked against another nonce: " << r.out;

  // The AK lives only in this session's context files: after a manager
  // restart the instance is the same TPM (same EK), so a new AK quotes
  // the same PCR 16.
  ASSERT_EQ(managerd("restart").exit_code, 0);
  r = tool("tpm2_createek", {"-c", at("ek2.ctx"), "-G", "rsa", "-u", at("ek2.pub")}, t);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  flushed();
  EXPECT_EQ(contents(dir / "ek.pub"), contents(dir / "ek2.pub"));
  r = tool("tpm2_createak", {"-C", at("ek2.ctx"), "-c", at("ak.ctx"), "-G", "rsa", "-g",
                             "sha256", "-s", "rsassa", "-u", at("ak.pem"), "-f", "pem", "-n",
                             at("ak.name")},
           t);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  flushed();
  ASSERT_EQ(quote("0badc0de").exit_code, 0);
  r = check("0badc0de");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  shown = r.out;
  std::transform(shown.begin(), shown.end(), shown.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  EXPECT_NE(shown.find(expected), std::string::npos) << r.out;
}

TEST_F(VtpmManagerE2E, CrashedWorkerLeavesOthersRunningAndRestartsFromSavedState) {
  ASSERT_EQ(managerd("start").exit_code, 0);
  ASSERT_EQ(ctl({"create", "a"}).exit_code, 0);
  ASSERT_EQ(ctl({"create", "b"}).exit_code, 0);
  ASSERT_EQ(ctl({"start", "a"}).exit_code, 0);
  ASSERT_EQ(ctl({"start", "b"}).exit_code, 0);
  const std::string ta = ctl_json({"tcti", "a"})["tcti"];
  const std::string tb = ctl_json({"tcti", "b"})["tcti"];
  for (const auto& t : {ta, tb})
    ASSERT_EQ(tool("tpm2_startup", {"-c"}, t).exit_code, 0);
  ASSERT_EQ(tool("tpm2_pcrextend", {std::string("16:sha256=") + kPcrValue}, ta).exit_code, 0);
  ASSERT_EQ(ctl({"save", "a"}).exit_code, 0);
  // Extended after the save: lost with the crash.
  ASSERT_EQ(tool("tpm2_pcrextend", {std::string("16:sha256=") + kPcrValue}, ta).exit_code, 0);

  const pid_t victim = worker_pid("a");
  ASSERT_GT(victim, 0);
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  std::string status;
  for (int i = 0; i < 200 && status != "crashed"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    status = ctl_json({"list"})["instances"][0]["status"];
  }
  EXPECT_EQ(status, "crashed");
  EXPECT_EQ(tool("tpm2_getrandom", {"8", "--hex"}, tb).exit_code, 0);  // b is unaffected
  EXPECT_EQ(ctl_json({"list"})["instances"][1]["status"], "running");

  ASSERT_EQ(ctl({"start", "a"}).exit_code, 0);
  EXPECT_EQ(pcr16(ta), kPcrExtended);  // the saved state, one extend
}

TEST_F(VtpmManagerE2E, WorkersAreConfinedToTheirOwnDirectories) {
  ASSERT_EQ(managerd("start").exit_code, 0);
  ASSERT_EQ(ctl({"create", "a"}).exit_code, 0);
  ASSERT_EQ(ctl({"create", "b"}).exit_code, 0);
  ASSERT_EQ(ctl({"start", "a"}).exit_code, 0);
  ASSERT_EQ(ctl({"start", "b"}).exit_code, 0);
  const pid_t a = worker_pid("a");
  const pid_t b = worker_pid("b");
  ASSERT_GT(a, 0);
  ASSERT_GT(b, 0);
  const auto status_line = [](pid_t pid, const std::string& key) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(key, 0) == 0) return line;
    }
    return std::string();
  };
  EXPECT_NE(status_line(a, "NoNewPrivs:").find('1'), std::string::npos);
  EXPECT_NE(status_line(a, "Seccomp:").find('2'), std::string::npos);  // filter mode
  // Only its two directories besides stdio (and swtpm's own sockets/lock).
  EXPECT_FALSE(fs::exists("/proc/" + std::to_string(a) + "/fd/200"));
  if (::geteuid() == 0) {
    // Each worker has its own uid, which owns only its own directories.
    EXPECT_NE(status_line(a, "Uid:"), status_line(b, "Uid:"));
    struct stat st_a {};
    struct stat st_b {};
    ASSERT_EQ(::stat((root_ / "run/vtpm/1/state").c_str(), &st_a), 0);
    ASSERT_EQ(::stat((root_ / "run/vtpm/2/state").c_str(), &st_b), 0);
    EXPECT_NE(st_a.st_uid, st_b.st_uid);
    EXPECT_EQ(st_a.st_mode & 0777, 0700u);
    EXPECT_NE(status_line(a, "Uid:").find(std::to_string(st_a.st_uid)), std::string::npos);
    // With every directory above them opened up, a's uid reads a's state
    // and neither b's state nor the manager's saved copies.
    if (const auto setpriv = on_path("setpriv")) {
      for (const fs::path& dir :
           {root_, root_ / "var", root_ / "var/lib", root_ / "var/lib/vtpm",
            root_ / "var/lib/vtpm/instances", root_ / "var/lib/vtpm/instances/1",
            root_ / "var/lib/vtpm/instances/2", root_ / "run", root_ / "run/vtpm"}) {
        ASSERT_EQ(::chmod(dir.c_str(), 0755), 0) << dir;
      }
      const auto read_as_a = [&](const std::string& file) {
        const std::string id = std::to_string(st_a.st_uid);
        return run_process({*setpriv, "--reuid=" + id, "--regid=" + id, "--clear-groups",
                            "/bin/cat", (root_ / file).string()},
                           std::chrono::seconds(10));
      };
      EXPECT_EQ(read_as_a("run/vtpm/1/state/tpm2-00.permall").exit_code, 0);
      auto other = read_as_a("run/vtpm/2/state/tpm2-00.permall");
      EXPECT_NE(other.exit_code, 0);
      EXPECT_NE(other.err.find("Permission denied"), std::string::npos) << other.err;
      ASSERT_EQ(ctl({"save", "b"}).exit_code, 0);
      EXPECT_NE(read_as_a("var/lib/vtpm/instances/2/saved/tpm2-00.permall").exit_code, 0);
      EXPECT_NE(read_as_a("var/lib/vtpm/instances/1/saved/tpm2-00.permall").exit_code, 0);
    }
  } else {
    GTEST_LOG_(INFO) << "not root: workers share the manager's uid (documented in docs/vtpm.md)";
  }
}

TEST_F(VtpmManagerE2E, BadRequestsAreClearErrors) {
  auto no_manager = ctl({"list"});
  EXPECT_EQ(no_manager.exit_code, 1);
  EXPECT_NE(no_manager.err.find("vtpm_managerd is not running"), std::string::npos);
  ASSERT_EQ(managerd("start").exit_code, 0);
  auto unknown = ctl({"start", "nosuch"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.err,
            "vtpmctl: no vTPM instance is bound to a domain named or with uuid 'nosuch'\n");
  auto number = ctl({"stop", "42"});
  EXPECT_EQ(number.err, "vtpmctl: no vTPM instance 42\n");
  auto bad_name = ctl({"create", "bad/name"});
  EXPECT_EQ(bad_name.exit_code, 1);
  EXPECT_NE(bad_name.err.find("domain name 'bad/name' is invalid"), std::string::npos);
  auto bad_instance = ctl({"create", "web", "--instance", "x"});
  EXPECT_EQ(bad_instance.exit_code, 2);
  auto as_json = ctl({"--json", "delete", "nosuch"});
  EXPECT_EQ(as_json.exit_code, 1);
  auto parsed = json::parse(as_json.out, nullptr, false);
  ASSERT_TRUE(parsed.is_object());
  EXPECT_NE(parsed["error"]["message"].get<std::string>().find("nosuch"), std::string::npos);
  // A second start of the manager is refused politely; status answers.
  EXPECT_EQ(managerd("start").exit_code, 0);
  EXPECT_EQ(managerd("status").exit_code, 0);
}

// Protected state (docs/vtpm.md, "Protected state"): no plaintext under
// var/lib; a tampered or rolled-back blob is refused with a clear error and
// left as it is, and the other instances are unaffected.
TEST_F(VtpmManagerE2E, TamperedOrRolledBackStateIsRefusedOthersUnaffected) {
  ASSERT_EQ(managerd("start").exit_code, 0);
  for (const char* name : {"a", "b", "c"})
    ASSERT_EQ(ctl({"create", name}).exit_code, 0);
  std::map<std::string, std::string> tcti;
  for (const char* name : {"a", "b", "c"})
    tcti[name] = started_and_extended(name);
  // a: save once more after a second extend, keeping the first save's blob.
  ASSERT_EQ(ctl({"save", "a"}).exit_code, 0);
  const std::string a_old = contents(saved(1, "tpm2-00.permall"));
  const std::string a_old_volatile = contents(saved(1, "tpm2-00.volatilestate"));
  ASSERT_EQ(tool("tpm2_pcrextend", {std::string("16:sha256=") + kPcrValue}, tcti["a"]).exit_code,
            0);
  for (const char* name : {"a", "b", "c"})
    ASSERT_EQ(ctl({"stop", name}).exit_code, 0);
  // The saved state is not swtpm's plaintext format.
  const std::string b_saved = contents(saved(2, "tpm2-00.permall"));
  EXPECT_EQ(b_saved.rfind("SHVTPMB1", 0), 0u);
  EXPECT_FALSE(fs::exists(root_ / "var/lib/vtpm/instances/2/work"));

  // b: one flipped byte.
  std::string b_tampered = b_saved;
  b_tampered[b_tampered.size() / 2] ^= 0x20;
  std::ofstream(saved(2, "tpm2-00.permall"), std::ios::binary | std::ios::trunc) << b_tampered;
  auto tampered = ctl({"start", "b"});
  EXPECT_EQ(tampered.exit_code, 1);
  EXPECT_NE(tampered.err.find("cannot start vTPM instance 2"), std::string::npos) << tampered.err;
  EXPECT_NE(tampered.err.find(saved(2, "tpm2-00.permall").string()), std::string::npos);
  EXPECT_NE(tampered.err.find("authentication failed"), std::string::npos) << tampered.err;
  EXPECT_EQ(std::count(tampered.err.begin(), tampered.err.end(), '\n'), 1);
  EXPECT_EQ(contents(saved(2, "tpm2-00.permall")), b_tampered);

  // a: its older blobs put back.
  std::ofstream(saved(1, "tpm2-00.permall"), std::ios::binary | std::ios::trunc) << a_old;
  std::ofstream(saved(1, "tpm2-00.volatilestate"), std::ios::binary | std::ios::trunc)
      << a_old_volatile;
  auto rolled = ctl({"start", "a"});
  EXPECT_EQ(rolled.exit_code, 1);
  EXPECT_NE(rolled.err.find("rollback"), std::string::npos) << rolled.err;
  EXPECT_NE(rolled.err.find("tpm2-00.permall"), std::string::npos) << rolled.err;
  EXPECT_EQ(contents(saved(1, "tpm2-00.permall")), a_old);

  // c is unaffected, with its state.
  ASSERT_EQ(ctl({"start", "c"}).exit_code, 0) << ctl({"start", "c"}).err;
  EXPECT_EQ(pcr16(tcti["c"]), kPcrExtended);
  const json list = ctl_json({"list"});
  for (const auto& i : list["instances"])
    EXPECT_EQ(i["status"], i["name"] == "c" ? "running" : "stopped") << i.dump();

  // b with its original blob back starts with its state.
  std::ofstream(saved(2, "tpm2-00.permall"), std::ios::binary | std::ios::trunc) << b_saved;
  ASSERT_EQ(ctl({"start", "b"}).exit_code, 0);
  EXPECT_EQ(pcr16(tcti["b"]), kPcrExtended);
}

// A changed platform (a PCR in the sealing policy extended): the manager
// refuses to start with a clear message and deletes nothing; with the PCRs
// as they were (a power cycle of the platform TPM), it starts again.
TEST_F(VtpmManagerE2E, ChangedPlatformPcrsStopTheManagerAndDeleteNothing) {
  ASSERT_EQ(managerd("start").exit_code, 0);
  ASSERT_EQ(ctl({"create", "web"}).exit_code, 0);
  const std::string t = started_and_extended("web");
  ASSERT_EQ(managerd("stop").exit_code, 0);
  const std::string blob = contents(saved(1, "tpm2-00.permall"));
  const std::string sealed = contents(root_ / "var/lib/vtpm/manager-key.sealed");
  ASSERT_FALSE(sealed.empty());

  ASSERT_EQ(
      tool("tpm2_pcrextend", {std::string("7:sha256=") + kPcrValue}, platform_->tcti()).exit_code,
      0);
  auto refused = managerd("start");
  EXPECT_NE(refused.exit_code, 0);
  const std::string said = refused.out + refused.err;
  EXPECT_NE(said.find("cannot unseal the manager key: the platform's PCRs changed"),
            std::string::npos)
      << said;
  EXPECT_EQ(contents(saved(1, "tpm2-00.permall")), blob);
  EXPECT_EQ(contents(root_ / "var/lib/vtpm/manager-key.sealed"), sealed);
  EXPECT_TRUE(fs::exists(root_ / "var/lib/vtpm/manifest.json"));
  EXPECT_TRUE(fs::exists(root_ / "var/lib/vtpm/registry.json"));

  // The same platform TPM after a reset (PCRs back to their boot values).
  const fs::path platform_dir = platform_->dir();
  platform_.reset();
  platform_ = std::make_unique<shype::testing::SwtpmProcess>(platform_dir);
  ASSERT_EQ(managerd("start").exit_code, 0);
  EXPECT_EQ(pcr16(t), kPcrExtended);  // web was autostarted with its state
}

// The whole of var/lib/vtpm put back as it was (manifest and blobs together,
// as a disk snapshot restores them), a missing manager key, and another
// platform TPM: the manager refuses to start with a clear message each time
// and changes no file.
TEST_F(VtpmManagerE2E, DiskRollbackMissingKeyAndOtherTpmAreRefused) {
  ASSERT_EQ(managerd("start").exit_code, 0);
  ASSERT_EQ(ctl({"create", "web"}).exit_code, 0);
  const std::string t = started_and_extended("web");
  ASSERT_EQ(ctl({"save", "web"}).exit_code, 0);
  ASSERT_EQ(managerd("stop").exit_code, 0);
  const fs::path state = root_ / "var/lib/vtpm";
  const fs::path snapshot = root_.string() + "-snapshot";
  fs::copy(state, snapshot, fs::copy_options::recursive);
  ASSERT_EQ(managerd("start").exit_code, 0);  // web autostarts; one more save at stop
  ASSERT_EQ(managerd("stop").exit_code, 0);
  const fs::path moved = root_.string() + "-current";
  fs::rename(state, moved);
  fs::copy(snapshot, state, fs::copy_options::recursive);
  auto rolled = managerd("start");
  EXPECT_NE(rolled.exit_code, 0);
  EXPECT_NE((rolled.out + rolled.err).find("an older manifest was put back (rollback)"),
            std::string::npos)
      << rolled.out << rolled.err;
  fs::remove_all(state);
  fs::rename(moved, state);
  fs::remove_all(snapshot);

  // The manager key missing while instance state exists.
  const fs::path sealed = state / "manager-key.sealed";
  const fs::path aside = root_.string() + "-sealed";
  fs::rename(sealed, aside);
  auto missing = managerd("start");
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE((missing.out + missing.err).find("is missing but vTPM instance state exists"),
            std::string::npos)
      << missing.out << missing.err;
  EXPECT_FALSE(fs::exists(sealed));  // not replaced by a new key
  EXPECT_TRUE(fs::exists(saved(1, "tpm2-00.permall")));
  fs::rename(aside, sealed);

  // Another platform TPM.
  shype::testing::SwtpmProcess other(root_.string() + "-other-platform");
  ::setenv("SHYPE_VTPM_PLATFORM_TCTI", other.tcti().c_str(), 1);
  auto foreign = managerd("start");
  EXPECT_NE(foreign.exit_code, 0);
  EXPECT_NE((foreign.out + foreign.err).find("not the one it was sealed to"), std::string::npos)
      << foreign.out << foreign.err;
  other.stop();
  std::error_code ec;
  fs::remove_all(root_.string() + "-other-platform", ec);

  // Everything back: the instance starts with its state.
  ::setenv("SHYPE_VTPM_PLATFORM_TCTI", platform_->tcti().c_str(), 1);
  ASSERT_EQ(managerd("start").exit_code, 0);
  EXPECT_EQ(pcr16(t), kPcrExtended);
}

}  // namespace
