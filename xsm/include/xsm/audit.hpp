// Audit records (ARCHITECTURE 3): every denial (and, when asked, every
// permit) becomes one structured record: time, hook, subject and object
// with their labels and ssidrefs, the decision and why, and the policy
// (name, version, SHA-256 fingerprint of the binary). Records are kept in a
// ring that Domain-0 reads through xsm_op audit_read, and appended as JSON
// lines to a file (SHYPE_ROOT/var/log/xen/audit.log).
//
// Auditing must never stop the hypervisor: a record that cannot be written
// to the file is counted (write_errors) and stays in the ring; nothing here
// throws except std::bad_alloc, which the XSM facade turns into -ENOMEM.
//
// Thread safety: none (the hypervisor's single event loop owns the log).
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <string>
#include <vector>

#include "acm/ssidref.hpp"
#include "xsm/hooks.hpp"

namespace shype::xsm {

// The domid of an audit party that is not a domain (a resource, a policy).
inline constexpr std::uint32_t kAuditNoDomain = 0xffffffffu;

struct AuditParty {
  std::uint32_t domid = 0;  // for a resource or a policy: kAuditNoDomain
  acm::Ssidref ssidref = 0;
  std::string name;   // domain or resource name
  std::string label;  // VM or resource label name ("" if the policy has no names)
};

struct AuditRecord {
  std::uint64_t seq = 0;     // assigned by AuditLog::record, from 1
  std::int64_t time_ns = 0;  // CLOCK_REALTIME
  Hook hook = Hook::policy_op;
  AuditParty subject;
  AuditParty object;
  bool permitted = false;
  int status = 0;      // the errno the caller got (0 if permitted)
  std::string reason;  // the rule that decided, e.g. "no common STE type"
  std::string policy_name;
  std::string policy_version;
  std::string policy_fingerprint;  // hex SHA-256
};

// One JSON object on one line (no trailing newline):
//   {"seq":1,"time_ns":...,"hook":"domain_create","decision":"deny",
//    "status":-13,"subject":{"domid":0,"ssidref":"0x00010001","name":"Domain-0",
//    "label":"SystemManagement"},"object":{...},"reason":"...",
//    "policy":{"name":"mytest","version":"1.0","fingerprint":"..."}}
// ssidrefs are written as acm::hex32 strings, as everywhere else in shype.
// Bytes that are not valid UTF-8 (domain names come from callers) are
// replaced by U+FFFD rather than failing the record.
[[nodiscard]] std::string to_json_line(const AuditRecord& record);

class AuditLog {
 public:
  // `file` empty: keep the ring only. The file is opened for appending
  // (O_APPEND, created 0640); a write error is counted, not fatal: auditing
  // must never stop the hypervisor. If the file cannot be opened at all,
  // every record counts as a write error, so the loss stays visible.
  explicit AuditLog(const std::filesystem::path& file = {}, std::size_t ring_capacity = 4096);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Assigns the sequence number and the time if unset, keeps (dropping the
  // oldest record when the ring is full), writes one line with one write(2).
  // Returns the sequence number.
  std::uint64_t record(AuditRecord record);

  // JSON lines of the records with seq >= from_seq still in the ring (at
  // most max_records), and the sequence number to ask for next. A from_seq
  // older than the ring starts at the oldest record kept (the gap in the
  // sequence numbers shows what was lost); one beyond the newest returns
  // nothing and next_seq = the number the next record will get.
  [[nodiscard]] std::vector<std::string> read_since(std::uint64_t from_seq, std::size_t max_records,
                                                    std::uint64_t& next_seq) const;
  [[nodiscard]] std::uint64_t records_written() const noexcept { return next_seq_ - 1; }
  [[nodiscard]] std::uint64_t write_errors() const noexcept { return write_errors_; }
  [[nodiscard]] std::size_t ring_size() const noexcept { return ring_.size(); }
  [[nodiscard]] std::size_t ring_capacity() const noexcept { return capacity_; }

 private:
  void append_to_file(const AuditRecord& record);

  std::deque<AuditRecord> ring_;
  std::size_t capacity_;
  std::uint64_t next_seq_ = 1;
  std::uint64_t write_errors_ = 0;
  bool want_file_ = false;
  int fd_ = -1;
};

}  // namespace shype::xsm
