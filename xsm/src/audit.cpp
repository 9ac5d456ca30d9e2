#include "xsm/audit.hpp"

#include <cerrno>
#include <ctime>
#include <utility>

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace shype::xsm {
namespace {

std::int64_t realtime_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

nlohmann::json party_json(const AuditParty& party) {
  nlohmann::json j;
  j["domid"] = party.domid;
  j["ssidref"] = acm::hex32(party.ssidref);
  j["name"] = party.name;
  j["label"] = party.label;
  return j;
}

}  // namespace

std::string to_json_line(const AuditRecord& record) {
  nlohmann::json j;
  j["seq"] = record.seq;
  j["time_ns"] = record.time_ns;
  j["hook"] = hook_name(record.hook);
  j["decision"] = record.permitted ? "permit" : "deny";
  j["status"] = record.status;
  j["subject"] = party_json(record.subject);
  j["object"] = party_json(record.object);
  j["reason"] = record.reason;
  j["policy"] = {{"name", record.policy_name},
                 {"version", record.policy_version},
                 {"fingerprint", record.policy_fingerprint}};
  // replace: a name that is not UTF-8 must not cost the record (dump()
  // would otherwise throw type_error 316).
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

AuditLog::AuditLog(const std::filesystem::path& file, std::size_t ring_capacity)
    : capacity_(ring_capacity), want_file_(!file.empty()) {
  if (want_file_) {
    // O_APPEND: concurrent writers (a restarted hypervisor, log readers that
    // truncate) never interleave inside one line written by one write(2).
    fd_ = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  }
}

AuditLog::~AuditLog() {
  if (fd_ >= 0) ::close(fd_);
}

std::uint64_t AuditLog::record(AuditRecord record) {
  record.seq = next_seq_;
  if (record.time_ns == 0) record.time_ns = realtime_ns();
  // Format before anything changes, so that bad_alloc leaves the log as it was.
  if (want_file_) append_to_file(record);
  ++next_seq_;
  if (capacity_ == 0) return record.seq;
  if (ring_.size() == capacity_) ring_.pop_front();
  const std::uint64_t seq = record.seq;
  ring_.push_back(std::move(record));
  return seq;
}

void AuditLog::append_to_file(const AuditRecord& record) {
  if (fd_ < 0) {
    ++write_errors_;
    return;
  }
  std::string line = to_json_line(record);
  line += '\n';
  // One write(2) per line: with O_APPEND the line lands whole or the
  // remainder is appended right after it. A short write is retried; any
  // other failure is counted and the record lives on in the ring.
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ++write_errors_;
      return;
    }
    done += static_cast<std::size_t>(n);
  }
}

std::vector<std::string> AuditLog::read_since(std::uint64_t from_seq, std::size_t max_records,
                                              std::uint64_t& next_seq) const {
  std::vector<std::string> lines;
  // The ring holds consecutive sequence numbers ending at next_seq_ - 1.
  const std::uint64_t oldest = next_seq_ - ring_.size();
  std::uint64_t seq = from_seq < oldest ? oldest : from_seq;
  if (seq > next_seq_) seq = next_seq_;
  while (seq < next_seq_ && lines.size() < max_records) {
    lines.push_back(to_json_line(ring_[static_cast<std::size_t>(seq - oldest)]));
    ++seq;
  }
  next_seq = seq;
  return lines;
}

}  // namespace shype::xsm
