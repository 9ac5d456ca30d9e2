// vTPM migration end to end (docs/vtpm.md, "Migration"): two vTPM managers
// and two vtpm_migratords under two temporary roots on 127.0.0.1, each
// manager with its own swtpm as platform TPM, driven by vtpmctl, with
// tpm2-tools reading the instance before and after it moves. Every daemon
// and swtpm is stopped by pid at the end of each test (also on failure);
// every wait is bounded (run_process).
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "acm/file_io.hpp"
#include "process.hpp"
#include "swtpm_process.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using shype::testing::ProcessResult;
using shype::testing::run_process;
using shype::testing::on_path;
using shype::testing::SwtpmProcess;

constexpr const char* kPcrValue =
    "0000000000000000000000000000000000000000000000000000000000000001";
// sha256(zeros(32) || 00..01): PCR 16 after one extend with kPcrValue.
constexpr const char* kPcrExtended =
    "0x90F4B39548DF55AD6187A1D20D731ECEE78C545B94AFD16F42EF7592D99CD365";
constexpr const char* kNvIndex = "0x1500016";

// One host: a root with its platform swtpm, vtpm_managerd and vtpm_migratord.
struct Host {
  fs::path root;
  std::unique_ptr<SwtpmProcess> platform;
  std::vector<pid_t> pids;
  int port = 0;
};

class VtpmMigrationE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* t : {"swtpm", "tpm2_startup", "tpm2_pcrextend", "tpm2_pcrread",
                          "tpm2_nvdefine", "tpm2_nvwrite", "tpm2_nvread"}) {
      if (!on_path(t)) {
        GTEST_SKIP() << t
                     << " is not installed (scripts/install-deps.sh installs swtpm and "
                        "tpm2-tools); skipping the vTPM migration end-to-end tests";
      }
    }
    std::string templ = (fs::temp_directory_path() / "vtpm-migration-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    base_ = templ;
    started_ = true;
    for (auto [host, name] : {std::pair<Host*, const char*>{&source_, "source"},
                              std::pair<Host*, const char*>{&dest_, "dest"}}) {
      host->root = base_ / name;
      host->platform = std::make_unique<SwtpmProcess>(base_ / (std::string(name) + "-platform"));
      ASSERT_EQ(run(*host, VTPM_MANAGERD_PATH, {"start"}).exit_code, 0);
      remember(*host, "vtpm_managerd.pid");
      start_migratord(*host);
    }
  }

  void TearDown() override {
    if (!started_) return;
    for (Host* host : {&source_, &dest_}) {
      if (host->root.empty()) continue;
      (void)run(*host, VTPM_MIGRATORD_PATH, {"stop"});
      (void)run(*host, VTPM_MANAGERD_PATH, {"stop"});
      for (pid_t pid : host->pids) {
        if (::kill(pid, 0) == 0) ::kill(pid, SIGKILL);
      }
      host->platform.reset();  // stops the platform swtpm by pid
    }
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  // Runs a program against one host's root and platform TPM.
  ProcessResult run(const Host& host, const std::string& program, std::vector<std::string> args) {
    ::setenv("SHYPE_ROOT", host.root.c_str(), 1);
    ::setenv("SHYPE_VTPM_PLATFORM_TCTI", host.platform->tcti().c_str(), 1);
    args.insert(args.begin(), program);
    return run_process(args, std::chrono::seconds(60));
  }
  void remember(Host& host, const std::string& pid_file) {
    std::ifstream in(host.root / "run/vtpm" / pid_file);
    pid_t pid = 0;
    if (in >> pid && pid > 0) host.pids.push_back(pid);
  }
  void start_migratord(Host& host) {
    auto started = run(host, VTPM_MIGRATORD_PATH, {"start", "--listen", "127.0.0.1:0"});
    ASSERT_EQ(started.exit_code, 0) << started.err;
    remember(host, "vtpm_migratord.pid");
    const json info = ctl_json(host, {"migration-info"});
    host.port = info.value("port", 0);
    ASSERT_GT(host.port, 0);
  }
  ProcessResult ctl(const Host& host, std::vector<std::string> args) {
    return run(host, VTPMCTL_PATH, std::move(args));
  }
  json ctl_json(const Host& host, std::vector<std::string> args) {
    args.insert(args.begin(), "--json");
    auto r = ctl(host, args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }
  // `trusting` pins `trusted`'s migration certificate.
  void trust(const Host& trusting, const Host& trusted) {
    auto pem = ctl(trusted, {"migration-identity"});
    ASSERT_EQ(pem.exit_code, 0) << pem.err;
    const fs::path file = base_ / ("peer-" + std::to_string(trusted.port) + ".pem");
    std::ofstream(file) << pem.out;
    auto pinned = ctl(trusting, {"trust-peer", file.string()});
    ASSERT_EQ(pinned.exit_code, 0) << pinned.err;
  }
  std::string peer(const Host& host) const { return "127.0.0.1:" + std::to_string(host.port); }

  ProcessResult tool(const std::string& name, std::vector<std::string> args,
                     const std::string& tcti) {
    args.insert(args.begin(), *on_path(name));
    args.push_back("--tcti=" + tcti);
    return run_process(args, std::chrono::seconds(15));
  }
  std::string tcti(const Host& host, const std::string& ref) {
    return ctl_json(host, {"tcti", ref}).value("tcti", std::string());
  }
  std::string pcr16(const std::string& t) {
    auto r = tool("tpm2_pcrread", {"sha256:16"}, t);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const auto at = r.out.find("16: ");
    return at == std::string::npos ? r.out : r.out.substr(at + 4, 66);
  }
  std::string nv(const std::string& t) {
    return tool("tpm2_nvread", {kNvIndex, "-C", "o", "-s", "8"}, t).out;
  }
  // The status of `name` in `vtpmctl list`, or "absent".
  std::string status(const Host& host, const std::string& name) {
    const json list = ctl_json(host, {"list"});
    for (const auto& i : list["instances"]) {
      if (i["name"] == name) return i["status"];
    }
    return "absent";
  }

  // web at the source: started, PCR 16 extended, an NV index written.
  void prepare_source_instance() {
    ASSERT_EQ(ctl(source_, {"create", "web", "--instance", "3"}).exit_code, 0);
    ASSERT_EQ(ctl(source_, {"start", "web"}).exit_code, 0);
    const std::string t = tcti(source_, "web");
    ASSERT_EQ(tool("tpm2_startup", {"-c"}, t).exit_code, 0);
    ASSERT_EQ(tool("tpm2_pcrextend", {std::string("16:sha256=") + kPcrValue}, t).exit_code, 0);
    ASSERT_EQ(
        tool("tpm2_nvdefine", {kNvIndex, "-C", "o", "-s", "8", "-a", "ownerread|ownerwrite"}, t)
            .exit_code,
        0);
    const fs::path data = base_ / "nv.in";
    std::ofstream(data) << "shype-nv";
    ASSERT_EQ(tool("tpm2_nvwrite", {kNvIndex, "-C", "o", "-i", data.string()}, t).exit_code, 0);
    ASSERT_EQ(pcr16(t), kPcrExtended);
    ASSERT_EQ(nv(t), "shype-nv");
  }
  // The source still has web, running, with its PCR and NV index.
  void expect_source_intact() {
    EXPECT_EQ(status(source_, "web"), "running");
    const std::string t = tcti(source_, "web");
    EXPECT_EQ(pcr16(t), kPcrExtended);
    EXPECT_EQ(nv(t), "shype-nv");
    // And it still stops and starts from its saved state.
    ASSERT_EQ(ctl(source_, {"stop", "web"}).exit_code, 0);
    ASSERT_EQ(ctl(source_, {"start", "web"}).exit_code, 0);
    EXPECT_EQ(pcr16(t), kPcrExtended);
    EXPECT_EQ(nv(t), "shype-nv");
  }

  fs::path base_;
  Host source_;
  Host dest_;
  bool started_ = false;
};

TEST_F(VtpmMigrationE2E, MigratedInstanceHasTheSamePcrsAndNvAtTheDestinationOnly) {
  trust(source_, dest_);
  trust(dest_, source_);
  prepare_source_instance();
  // Instance 3 is taken at the destination: web gets the lowest free number.
  ASSERT_EQ(ctl(dest_, {"create", "other", "--instance", "3"}).exit_code, 0);

  auto moved = ctl(source_, {"--json", "migrate", "web", peer(dest_)});
  ASSERT_EQ(moved.exit_code, 0) << moved.err;
  const json answer = json::parse(moved.out, nullptr, false);
  EXPECT_EQ(answer["instance"], 1);
  EXPECT_EQ(answer["source_instance"], 3);
  EXPECT_EQ(answer["name"], "web");

  EXPECT_EQ(status(source_, "web"), "absent");
  EXPECT_FALSE(fs::exists(source_.root / "var/lib/vtpm/instances/3"));
  EXPECT_EQ(status(dest_, "web"), "stopped");
  ASSERT_EQ(ctl(dest_, {"start", "web"}).exit_code, 0);
  const std::string t = tcti(dest_, "web");
  EXPECT_EQ(t, "swtpm:path=" + (dest_.root / "run/vtpm/1/tpm.sock").string());
  EXPECT_EQ(pcr16(t), kPcrExtended);
  EXPECT_EQ(nv(t), "shype-nv");

  // Migrating it again (back) works the same way.
  auto back = ctl(dest_, {"migrate", "web", peer(source_)});
  ASSERT_EQ(back.exit_code, 0) << back.err;
  EXPECT_EQ(status(dest_, "web"), "absent");
  ASSERT_EQ(ctl(source_, {"start", "web"}).exit_code, 0);
  EXPECT_EQ(pcr16(tcti(source_, "web")), kPcrExtended);
}

TEST_F(VtpmMigrationE2E, UntrustedPeersAreRefusedByTlsAndTheSourceIsIntact) {
  prepare_source_instance();
  // Neither side trusts the other.
  auto refused = ctl(source_, {"migrate", "web", peer(dest_)});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("TLS handshake with " + peer(dest_) + " failed"), std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find("instance web is unchanged"), std::string::npos) << refused.err;
  // The destination trusts the source, but the source does not trust it.
  trust(dest_, source_);
  refused = ctl(source_, {"migrate", "web", peer(dest_)});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("TLS handshake"), std::string::npos) << refused.err;
  // The source trusts the destination, which does not trust the source.
  trust(source_, dest_);
  std::error_code ec;
  fs::remove_all(dest_.root / "var/lib/vtpm/migration/peers", ec);
  fs::create_directories(dest_.root / "var/lib/vtpm/migration/peers", ec);
  refused = ctl(source_, {"migrate", "web", peer(dest_)});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find(peer(dest_)), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("unchanged"), std::string::npos) << refused.err;

  EXPECT_EQ(status(dest_, "web"), "absent");
  expect_source_intact();
}

TEST_F(VtpmMigrationE2E, GarbageOnThePeerPortIsRefusedAndThePeerKeepsServing) {
  trust(source_, dest_);
  trust(dest_, source_);
  prepare_source_instance();
  // Not TLS at all: the handshake fails and the connection is closed.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(dest_.port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // SAFETY: sockaddr_in is a sockaddr of its own size.
  ASSERT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  const std::string junk = "GET / HTTP/1.0\r\n\r\n";
  ASSERT_EQ(::write(fd, junk.data(), junk.size()), static_cast<ssize_t>(junk.size()));
  char reply[64];
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  (void)::read(fd, reply, sizeof reply);  // an alert or EOF, within the bound
  ::close(fd);

  auto moved = ctl(source_, {"migrate", "web", peer(dest_)});
  ASSERT_EQ(moved.exit_code, 0) << moved.err;
  ASSERT_EQ(ctl(dest_, {"start", "web"}).exit_code, 0);
  EXPECT_EQ(pcr16(tcti(dest_, "web")), kPcrExtended);
  const auto log = shype::acm::read_text_file(dest_.root / "var/log/vtpm/vtpm_migratord.log");
  ASSERT_TRUE(log);
  const std::string& text = *log;
  EXPECT_NE(text.find("refused a peer: TLS handshake with 127.0.0.1:"), std::string::npos) << text;
}

TEST_F(VtpmMigrationE2E, DownOrRefusingDestinationLeavesTheSourceRunning) {
  trust(source_, dest_);
  trust(dest_, source_);
  prepare_source_instance();

  // The recovery commands refuse instances that are not migrating.
  auto not_migrating = ctl(source_, {"export-abort", "web"});
  EXPECT_EQ(not_migrating.exit_code, 1);
  EXPECT_EQ(not_migrating.err, "vtpmctl: vTPM instance 3 is not migrating away\n");
  not_migrating = ctl(source_, {"import-commit", "web"});
  EXPECT_EQ(not_migrating.exit_code, 1);
  EXPECT_EQ(not_migrating.err, "vtpmctl: vTPM instance 3 is not an incoming migration\n");

  auto unknown = ctl(source_, {"migrate", "nosuch", peer(dest_)});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.err,
            "vtpmctl: no vTPM instance is bound to a domain named or with uuid 'nosuch'\n");

  // The destination already binds a domain named web (another uuid): it
  // refuses the import, and the source takes its instance back and restarts it.
  ASSERT_EQ(ctl(dest_, {"create", "web"}).exit_code, 0);
  auto refused = ctl(source_, {"migrate", "web", peer(dest_)});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("refused"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("the instance stays here"), std::string::npos) << refused.err;
  expect_source_intact();
  ASSERT_EQ(ctl(dest_, {"delete", "web"}).exit_code, 0);

  // The destination's migratord is down.
  ASSERT_EQ(run(dest_, VTPM_MIGRATORD_PATH, {"stop"}).exit_code, 0);
  auto down = ctl(source_, {"--json", "migrate", "web", peer(dest_)});
  EXPECT_EQ(down.exit_code, 1);
  const json error = json::parse(down.out, nullptr, false);
  const std::string message = error["error"]["message"];
  EXPECT_NE(message.find("cannot connect to " + peer(dest_)), std::string::npos) << message;
  EXPECT_NE(message.find("unchanged"), std::string::npos) << message;
  expect_source_intact();
  EXPECT_EQ(status(dest_, "web"), "absent");
}

}  // namespace
