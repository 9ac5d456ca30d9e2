// Audit records (ARCHITECTURE 3): every denial (and, when asked, every
// permit) becomes one structured record: time, hook, subject and object
// with their labels and ssidrefs, the decision and why, and the policy
// (name, version, SHA-256 fingerprint of the binary). Records are kept in a
// ring that Domain-0 reads through xsm_op audit_read, and appended as JSON
// lines to a file (SHYPE_ROOT/var/log/xen/audit.log).
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <string>
#include <vector>

#include "acm/ssidref.hpp"
#include "xsm/hooks.hpp"

namespace shype::xsm {

struct AuditParty {
  std::uint32_t domid = 0;  // for a resource: 0xffffffff
  acm::Ssidref ssidref = 0;
  std::string name;   // domain or resource name
  std::string label;  // VM or resource label name ("" if the policy has no names)
};

struct AuditRecord {
  std::uint64_t seq = 0;      // assigned by AuditLog::record, from 1
  std::int64_t time_ns = 0;   // CLOCK_REALTIME
  Hook hook = Hook::policy_op;
  AuditParty subject;
  AuditParty object;
  bool permitted = false;
  int status = 0;             // the errno the caller got (0 if permitted)
  std::string reason;         // the rule that decided, e.g. "no common STE type"
  std::string policy_name;
  std::string policy_version;
  std::string policy_fingerprint;  // hex SHA-256
};

// One JSON object on one line (no trailing newline).
[[nodiscard]] std::string to_json_line(const AuditRecord& record);

class AuditLog {
 public:
  // `file` empty: keep the ring only. The file is opened for appending
  // (O_APPEND, created 0640); a write error is counted, not fatal: auditing
  // must never stop the hypervisor.
  explicit AuditLog(std::filesystem::path file = {}, std::size_t ring_capacity = 4096);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Assigns the sequence number and the time if unset, keeps, writes.
  std::uint64_t record(AuditRecord record);

  // JSON lines of the records with seq >= from_seq still in the ring (at
  // most max_records), and the sequence number to ask for next.
  [[nodiscard]] std::vector<std::string> read_since(std::uint64_t from_seq, std::size_t max_records,
                                                    std::uint64_t& next_seq) const;
  [[nodiscard]] std::uint64_t records_written() const noexcept { return next_seq_ - 1; }
  [[nodiscard]] std::uint64_t write_errors() const noexcept { return write_errors_; }

 private:
  std::deque<AuditRecord> ring_;
  std::size_t capacity_;
  std::uint64_t next_seq_ = 1;
  std::uint64_t write_errors_ = 0;
  int fd_ = -1;
};

}  // namespace shype::xsm
