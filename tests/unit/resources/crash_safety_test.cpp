// The store's crash-safety guarantee, tested for real: a child process makes
// label changes as fast as it can and reports each one through a pipe -
// "B <resource> <label|->" before it starts, "A" once set()/remove()
// returned - and is killed with SIGKILL at a random moment. The parent then
// reopens the store: it must parse, and hold every acknowledged change, with
// the one change in flight either fully applied or not at all.
#include <chrono>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "resources/label_store.hpp"
#include "temp_root.hpp"

namespace shype::resources {
namespace {

namespace fs = std::filesystem;
using State = std::map<std::string, std::string>;  // resource -> label

constexpr int kFiles = 6;

std::vector<std::string> resource_keys() {
  std::vector<std::string> keys;
  for (int i = 1; i <= 6; ++i)
    keys.push_back("vlan:" + std::to_string(i));
  for (int i = 0; i < kFiles; ++i)
    keys.push_back("file:/img/" + std::to_string(i) + ".img");  // existing: attributes too
  for (int i = 0; i < 3; ++i)
    keys.push_back("phy:/dev/xvd" + std::string(1, static_cast<char>('a' + i)));
  return keys;
}

void report(int fd, const std::string& line) {
  // One write of less than PIPE_BUF bytes: atomic, never half a line.
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(3);
}

[[noreturn]] void run_writer(const fs::path& store_file, const fs::path& root, int out,
                             unsigned seed) {
  auto store = ResourceLabelStore::open(store_file, RootFs(root));
  if (!store) {
    report(out, "E " + store.error().to_string() + "\n");
    ::_exit(1);
  }
  const auto keys = resource_keys();
  std::mt19937 rng(seed);
  for (;;) {
    const std::string& key = keys[rng() % keys.size()];
    const bool set = rng() % 3 != 0;
    const std::string label = "ACM:mytest:L" + std::to_string(rng() % 40);
    report(out, "B " + key + " " + (set ? label : "-") + "\n");
    const auto name = *ResourceName::parse_canonical(key);
    const auto done = set ? store->set(name, *ResourceLabel::parse(label)) : store->remove(name);
    if (!done && !(!set && done.error().code == Errc::not_found)) {
      report(out, "E " + done.error().to_string() + "\n");
      ::_exit(2);
    }
    report(out, "A\n");
  }
}

State observed_state(const fs::path& store_file, const fs::path& root, std::string* error) {
  State state;
  auto store = ResourceLabelStore::open(store_file, RootFs(root));
  if (!store) {
    *error = store.error().to_string();
    return state;
  }
  for (const auto& e : store->list())
    state[e.resource.to_string()] = e.label.to_string();
  return state;
}

// Appends what the pipe holds; false at end of file or on error.
bool read_some(int fd, std::string& log) {
  char buf[4096];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  if (n <= 0) return false;
  log.append(buf, static_cast<std::size_t>(n));
  return true;
}

int count_acks(const std::string& log) {
  int acks = 0;
  for (std::size_t at = log.find("A\n"); at != std::string::npos; at = log.find("A\n", at + 2)) {
    if (at == 0 || log[at - 1] == '\n') ++acks;
  }
  return acks;
}

void apply_op(State& state, const std::string& key, const std::string& label) {
  if (label == "-") {
    state.erase(key);
  } else {
    state[key] = label;
  }
}

TEST(LabelStoreCrash, KilledWritersNeverLoseAcknowledgedChanges) {
  testing::TempRoot root;
  for (int i = 0; i < kFiles; ++i)
    root.write("/img/" + std::to_string(i) + ".img", "disk " + std::to_string(i));
  const fs::path store_file = root.host("/var/lib/xend/security/policies/resource_labels");

  const unsigned seed = static_cast<unsigned>(std::random_device{}());
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  State model;
  int rounds = 0;
  int acknowledged = 0;
  int in_flight_applied = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (rounds < 200 && (rounds < 10 || std::chrono::steady_clock::now() < deadline)) {
    ++rounds;
    int pipe_fds[2];
    ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
    (void)::fcntl(pipe_fds[1], F_SETPIPE_SZ, 1 << 20);  // room for a whole round of reports
    const unsigned child_seed = static_cast<unsigned>(rng());
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(pipe_fds[0]);
      run_writer(store_file, root.dir(), pipe_fds[1], child_seed);
    }
    ::close(pipe_fds[1]);
    // Let the writer acknowledge a few changes (a durable write costs a few
    // fsyncs, 15 ms or more on a busy disk), then kill it somewhere in the
    // middle of the next one; now and then right after it started.
    std::string log;
    const int wanted = rounds % 8 == 0 ? 0 : 1 + static_cast<int>(rng() % 3);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    while (count_acks(log) < wanted && std::chrono::steady_clock::now() < give_up) {
      pollfd readable{pipe_fds[0], POLLIN, 0};
      if (::poll(&readable, 1, 10) > 0 && !read_some(pipe_fds[0], log)) break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 20000));
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    while (read_some(pipe_fds[0], log)) {
    }
    ::close(pipe_fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status)) << "writer exited on its own: " << log;

    // Replay the report: acknowledged changes, then at most one in flight.
    State acked = model;
    std::optional<std::pair<std::string, std::string>> pending;
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);) {
      ASSERT_NE(line[0], 'E') << line;
      if (line[0] == 'B') {
        std::istringstream fields(line.substr(2));
        std::string key;
        std::string label;
        fields >> key >> label;
        pending.emplace(key, label);
      } else if (line == "A") {
        ASSERT_TRUE(pending);
        apply_op(acked, pending->first, pending->second);
        pending.reset();
        ++acknowledged;
      }
    }
    std::string error;
    const State seen = observed_state(store_file, root.dir(), &error);
    ASSERT_TRUE(error.empty()) << "round " << rounds << ": " << error;
    State with_pending = acked;
    if (pending) apply_op(with_pending, pending->first, pending->second);
    if (seen != acked) {
      ASSERT_EQ(seen, with_pending) << "round " << rounds << " lost an acknowledged change";
      ++in_flight_applied;
    }
    model = seen;

    // Reopening removed whatever temporary file the kill left behind.
    for (const auto& entry : fs::directory_iterator(store_file.parent_path())) {
      const std::string file = entry.path().filename().string();
      EXPECT_TRUE(file == "resource_labels" || file == "resource_labels.lock") << file;
    }
  }
  EXPECT_GE(acknowledged, 10) << "too few changes to mean anything";
  RecordProperty("rounds", rounds);
  RecordProperty("acknowledged", acknowledged);
  RecordProperty("in_flight_applied", in_flight_applied);
}

}  // namespace
}  // namespace shype::resources
