// The hypercall codec: every header check, every op's size and range
// checks, descriptor accounting (nothing leaks), re-encoding, and the
// socket layer's truncation handling.
#include "hv/wire.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <ostream>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace shype::hv {
// Readable failures: "EINVAL" rather than four bytes.
inline void PrintTo(Errno status, std::ostream* out) { *out << errno_name(status); }
}  // namespace shype::hv

namespace shype::hv::wire {
namespace {

using Bytes = std::vector<std::uint8_t>;

std::size_t open_fd_count() {
  std::size_t count = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count;
}

abi::MessageHeader header(abi::Op op, std::uint32_t subop, std::size_t payload,
                          std::uint32_t fds = 0) {
  abi::MessageHeader h{};
  h.magic = abi::kMagic;
  h.version_major = abi::kVersionMajor;
  h.kind = static_cast<std::uint16_t>(abi::MessageKind::request);
  h.op = static_cast<std::uint32_t>(op);
  h.subop = subop;
  h.seq = 7;
  h.payload_length = static_cast<std::uint32_t>(payload);
  h.fd_count = fds;
  return h;
}

Bytes datagram(const abi::MessageHeader& h, const Bytes& payload) {
  Bytes out;
  append_bytes(out, bytes_of(h));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

template <typename T>
Bytes payload_of(const T& value) {
  const auto b = bytes_of(value);
  return Bytes(b.begin(), b.end());
}

std::vector<UniqueFd> fake_fds(std::size_t n) {
  std::vector<UniqueFd> fds;
  for (std::size_t i = 0; i < n; ++i) fds.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  return fds;
}

Decoded decode(abi::Op op, std::uint32_t subop, const Bytes& payload,
               Caller caller = Caller::domain0, std::size_t fds = 0) {
  const auto h = header(op, subop, payload.size(), static_cast<std::uint32_t>(fds));
  return decode_request(datagram(h, payload), fake_fds(fds), caller);
}

// The status a decode produced (ok if accepted).
Errno status_of(const Decoded& d) {
  return d ? Errno::ok : d.error().status;
}

template <typename T>
Errno decode_fixed(abi::Op op, std::uint32_t subop, const T& value,
                   Caller caller = Caller::domain0, std::size_t fds = 0) {
  return status_of(decode(op, subop, payload_of(value), caller, fds));
}

// --- header framing ----------------------------------------------------------

TEST(WireHeader, ShorterThanHeaderIsAViolation) {
  const Bytes small(31, 0);
  const auto d = decode_request(small, {}, Caller::guest);
  ASSERT_FALSE(d);
  EXPECT_TRUE(d.error().protocol_violation);
  EXPECT_EQ(d.error().status, Errno::proto);
  EXPECT_FALSE(d.error().header);
}

TEST(WireHeader, BadMagicIsAViolation) {
  auto h = header(abi::Op::xen_version, 0, 0);
  h.magic = 0x12345678;
  const auto d = decode_request(datagram(h, {}), {}, Caller::guest);
  ASSERT_FALSE(d);
  EXPECT_TRUE(d.error().protocol_violation);
  EXPECT_NE(d.error().reason.find("magic"), std::string::npos);
}

TEST(WireHeader, OnlyRequestsAreAccepted) {
  for (std::uint16_t kind : std::initializer_list<std::uint16_t>{0, 2, 3, 4, 31, 32, 0xffff}) {
    auto h = header(abi::Op::xen_version, 0, 0);
    h.kind = kind;
    const auto d = decode_request(datagram(h, {}), {}, Caller::guest);
    ASSERT_FALSE(d) << kind;
    EXPECT_TRUE(d.error().protocol_violation) << kind;
  }
}

TEST(WireHeader, PayloadLengthMustMatchTheDatagram) {
  auto h = header(abi::Op::console_io, 0, 10);
  const auto lying_long = decode_request(datagram(h, Bytes(5, 'a')), {}, Caller::guest);
  ASSERT_FALSE(lying_long);
  EXPECT_TRUE(lying_long.error().protocol_violation);
  h.payload_length = 2;
  const auto lying_short = decode_request(datagram(h, Bytes(5, 'a')), {}, Caller::guest);
  ASSERT_FALSE(lying_short);
  EXPECT_TRUE(lying_short.error().protocol_violation);
}

TEST(WireHeader, PayloadBeyondTheMaximumIsAViolation) {
  const Bytes big(abi::kMaxPayload + 1, 'x');
  const auto d = decode_request(datagram(header(abi::Op::console_io, 0, big.size()), big), {},
                                Caller::guest);
  ASSERT_FALSE(d);
  EXPECT_TRUE(d.error().protocol_violation);
  // Exactly the maximum is a valid console write.
  const Bytes max(abi::kMaxPayload, 'x');
  EXPECT_TRUE(decode_request(datagram(header(abi::Op::console_io, 0, max.size()), max), {},
                             Caller::guest));
}

TEST(WireHeader, FdCountMustMatchWhatCame) {
  const auto before = open_fd_count();
  {
    auto h = header(abi::Op::xen_version, 0, 0, 2);
    const auto d = decode_request(datagram(h, {}), fake_fds(1), Caller::guest);
    ASSERT_FALSE(d);
    EXPECT_TRUE(d.error().protocol_violation);
    h.fd_count = 0;
    const auto d2 = decode_request(datagram(h, {}), fake_fds(3), Caller::guest);
    ASSERT_FALSE(d2);
    EXPECT_TRUE(d2.error().protocol_violation);
    h.fd_count = abi::kMaxFds + 1;
    const auto d3 = decode_request(datagram(h, {}), fake_fds(abi::kMaxFds + 1), Caller::guest);
    ASSERT_FALSE(d3);
    EXPECT_TRUE(d3.error().protocol_violation);
  }
  EXPECT_EQ(open_fd_count(), before) << "rejected descriptors must be closed";
}

TEST(WireHeader, AnotherMajorVersionIsAnsweredNotFramedAway) {
  auto h = header(abi::Op::xen_version, 0, 0);
  h.version_major = 2;
  const auto d = decode_request(datagram(h, {}), {}, Caller::guest);
  ASSERT_FALSE(d);
  EXPECT_FALSE(d.error().protocol_violation);
  EXPECT_EQ(d.error().status, Errno::protonosupport);
  ASSERT_TRUE(d.error().header);
  EXPECT_EQ(d.error().header->seq, 7u);
}

TEST(WireHeader, RequestStatusMustBeZero) {
  auto h = header(abi::Op::xen_version, 0, 0);
  h.status = -1;
  EXPECT_EQ(status_of(decode_request(datagram(h, {}), {}, Caller::guest)), Errno::inval);
}

TEST(WireHeader, UnknownOpsAndSubopsAreEnosys) {
  EXPECT_EQ(status_of(decode(static_cast<abi::Op>(0), 0, {}, Caller::guest)), Errno::nosys);
  EXPECT_EQ(status_of(decode(static_cast<abi::Op>(99), 0, {}, Caller::domain0)), Errno::nosys);
  EXPECT_EQ(status_of(decode(abi::Op::xen_version, 1, {})), Errno::nosys);
  EXPECT_EQ(status_of(decode(abi::Op::console_io, 2, {})), Errno::nosys);
  EXPECT_EQ(status_of(decode(abi::Op::sched_op, 3, {})), Errno::nosys);
  EXPECT_EQ(status_of(decode(abi::Op::domctl, 6, {})), Errno::nosys);
  EXPECT_EQ(status_of(decode(abi::Op::sysctl, 1, {})), Errno::nosys);
  abi::AcmStats stats{};
  stats.interface_version = abi::kAcmInterfaceVersion;
  EXPECT_EQ(decode_fixed(abi::Op::xsm_op, 99, stats), Errno::nosys);
  EXPECT_EQ(status_of(decode(abi::Op::event_channel_op, 2, {})), Errno::nosys);
  EXPECT_EQ(status_of(decode(abi::Op::event_channel_op, 100, {})), Errno::nosys);
  EXPECT_EQ(status_of(decode(abi::Op::grant_table_op, 2, {})), Errno::nosys);
}

TEST(WireHeader, RejectionKeepsTheHeaderToAnswer) {
  const auto d = decode(abi::Op::xen_version, 0, Bytes(3, 0), Caller::guest);
  ASSERT_FALSE(d);
  EXPECT_FALSE(d.error().protocol_violation);
  ASSERT_TRUE(d.error().header);
  EXPECT_EQ(d.error().header->op, static_cast<std::uint32_t>(abi::Op::xen_version));
  EXPECT_NE(d.error().reason.find("xen_version"), std::string::npos);
}

// --- privilege -----------------------------------------------------------------

TEST(WirePrivilege, DomctlSysctlXsmAreDomain0Only) {
  EXPECT_EQ(status_of(decode(abi::Op::domctl, 5, Bytes(4, 0), Caller::guest)), Errno::perm);
  EXPECT_EQ(status_of(decode(abi::Op::domctl, 999, {}, Caller::guest)), Errno::perm);
  EXPECT_EQ(status_of(decode(abi::Op::sysctl, 3, {}, Caller::guest)), Errno::perm);
  EXPECT_EQ(status_of(decode(abi::Op::xsm_op, 3, Bytes(72, 0), Caller::guest)), Errno::perm);
  EXPECT_EQ(status_of(decode(abi::Op::sysctl, 3, {}, Caller::domain0)), Errno::ok);
}

// resource_access and frame_access are the xsm_ops a guest may send (a
// driver domain asks them about its clients); the hypervisor, not the
// decoder, checks the channels.
TEST(WirePrivilege, GuestsMaySendTheTwoDriverDomainQuestionsOnly) {
  abi::AcmResourceAccess r{abi::kAcmInterfaceVersion, 3, 1, 0};
  const auto subop = static_cast<std::uint32_t>(abi::AcmOp::resource_access);
  EXPECT_EQ(decode_fixed(abi::Op::xsm_op, subop, r, Caller::guest), Errno::ok);
  EXPECT_EQ(decode_fixed(abi::Op::xsm_op, subop, r, Caller::domain0), Errno::ok);
  abi::AcmFrameAccess f{abi::kAcmInterfaceVersion, 3, 4, 0};
  const auto frame = static_cast<std::uint32_t>(abi::AcmOp::frame_access);
  EXPECT_EQ(frame, 102u);
  EXPECT_EQ(decode_fixed(abi::Op::xsm_op, frame, f, Caller::guest), Errno::ok);
  EXPECT_EQ(decode_fixed(abi::Op::xsm_op, frame, f, Caller::domain0), Errno::ok);
  for (const std::uint32_t other : {1u, 2u, 3u, 4u, 5u, 6u, 7u, 100u, 103u}) {
    EXPECT_EQ(status_of(decode(abi::Op::xsm_op, other, Bytes(16, 0), Caller::guest)), Errno::perm)
        << other;
  }
}

// frame_access's fields are range-checked before anything is looked up.
TEST(WirePrivilege, FrameAccessNamesTheBadArgument) {
  const auto frame = static_cast<std::uint32_t>(abi::AcmOp::frame_access);
  abi::AcmFrameAccess bad_from{abi::kAcmInterfaceVersion, 0x8000, 1, 0};
  EXPECT_EQ(decode_fixed(abi::Op::xsm_op, frame, bad_from, Caller::guest), Errno::inval);
  abi::AcmFrameAccess bad_to{abi::kAcmInterfaceVersion, 1, 0xffffffffu, 0};
  EXPECT_EQ(decode_fixed(abi::Op::xsm_op, frame, bad_to, Caller::guest), Errno::inval);
  abi::AcmFrameAccess answered{abi::kAcmInterfaceVersion, 1, 2, -111};
  EXPECT_EQ(decode_fixed(abi::Op::xsm_op, frame, answered, Caller::domain0), Errno::inval);
  Bytes short_payload = payload_of(answered);
  short_payload.resize(12);
  EXPECT_EQ(status_of(decode(abi::Op::xsm_op, frame, short_payload, Caller::guest)), Errno::inval);
  EXPECT_EQ(status_of(decode(abi::Op::xsm_op, frame, Bytes(16, 0), Caller::guest)), Errno::acces);
}

// --- guest ops --------------------------------------------------------------------

TEST(WireGuestOps, XenVersionHasNoPayload) {
  const auto d = decode(abi::Op::xen_version, 0, {}, Caller::guest);
  ASSERT_TRUE(d);
  EXPECT_TRUE(std::holds_alternative<XenVersion>(d->body));
  EXPECT_EQ(status_of(decode(abi::Op::xen_version, 0, Bytes(1, 0), Caller::guest)), Errno::inval);
}

TEST(WireGuestOps, ConsoleWriteNeedsBytes) {
  EXPECT_EQ(status_of(decode(abi::Op::console_io, 0, {}, Caller::guest)), Errno::inval);
  const auto d = decode(abi::Op::console_io, 0, Bytes{'h', 'i', 0, '\n'}, Caller::guest);
  ASSERT_TRUE(d);
  EXPECT_EQ(std::get<ConsoleWrite>(d->body).bytes, std::string("hi\0\n", 4));
  EXPECT_EQ(status_of(decode(abi::Op::console_io, 1, Bytes(1, 0), Caller::guest)), Errno::inval);
  EXPECT_TRUE(decode(abi::Op::console_io, 1, {}, Caller::guest));
}

TEST(WireGuestOps, SchedOps) {
  EXPECT_TRUE(decode(abi::Op::sched_op, 0, {}, Caller::guest));
  EXPECT_TRUE(decode(abi::Op::sched_op, 1, {}, Caller::guest));
  EXPECT_EQ(status_of(decode(abi::Op::sched_op, 0, Bytes(4, 0), Caller::guest)), Errno::inval);
  abi::SchedShutdown shutdown{3};
  EXPECT_EQ(decode_fixed(abi::Op::sched_op, 2, shutdown, Caller::guest), Errno::ok);
  shutdown.reason = 4;
  EXPECT_EQ(decode_fixed(abi::Op::sched_op, 2, shutdown, Caller::guest), Errno::inval);
  EXPECT_EQ(status_of(decode(abi::Op::sched_op, 2, Bytes(3, 0), Caller::guest)), Errno::inval);
  EXPECT_EQ(status_of(decode(abi::Op::sched_op, 2, Bytes(5, 0), Caller::guest)), Errno::inval);
}

// --- domctl -----------------------------------------------------------------------

abi::DomctlCreateDomain good_create() {
  abi::DomctlCreateDomain c{};
  c.ssidref = 0x00020002;
  c.memory_mib = 16;
  c.vcpus = 1;
  std::strcpy(c.name, "web-1_a.b");
  std::strcpy(c.cmdline, "hello world");
  return c;
}

Errno create_status(const abi::DomctlCreateDomain& c, std::size_t fds = 1) {
  return decode_fixed(abi::Op::domctl, 1, c, Caller::domain0, fds);
}

TEST(WireDomctl, CreateDomainAccepted) {
  const auto d = decode(abi::Op::domctl, 1, payload_of(good_create()), Caller::domain0, 1);
  ASSERT_TRUE(d);
  const auto& body = std::get<CreateDomain>(d->body);
  EXPECT_EQ(body.name(), "web-1_a.b");
  EXPECT_EQ(body.cmdline(), "hello world");
  EXPECT_EQ(d->fds.size(), 1u);
}

TEST(WireDomctl, CreateDomainSizeAndDescriptor) {
  Bytes p = payload_of(good_create());
  p.pop_back();
  EXPECT_EQ(status_of(decode(abi::Op::domctl, 1, p, Caller::domain0, 1)), Errno::inval);
  p.push_back(0);
  p.push_back(0);
  EXPECT_EQ(status_of(decode(abi::Op::domctl, 1, p, Caller::domain0, 1)), Errno::inval);
  EXPECT_EQ(create_status(good_create(), 0), Errno::badf);
  EXPECT_EQ(create_status(good_create(), 2), Errno::badf);
}

TEST(WireDomctl, CreateDomainRanges) {
  auto c = good_create();
  c.memory_mib = 0;
  EXPECT_EQ(create_status(c), Errno::inval);
  c.memory_mib = abi::kMaxMemoryMib + 1;
  EXPECT_EQ(create_status(c), Errno::inval);
  c.memory_mib = abi::kMaxMemoryMib;
  EXPECT_EQ(create_status(c), Errno::ok);
  c = good_create();
  c.vcpus = 2;
  EXPECT_EQ(create_status(c), Errno::inval);
  c = good_create();
  c.flags = 2;
  EXPECT_EQ(create_status(c), Errno::inval);
  c.flags = abi::kCreateStartPaused;
  EXPECT_EQ(create_status(c), Errno::ok);
}

TEST(WireDomctl, CreateDomainNames) {
  const auto with_name = [](const char* name) {
    auto c = good_create();
    std::memset(c.name, 0, sizeof c.name);
    std::strncpy(c.name, name, sizeof c.name);
    return create_status(c);
  };
  EXPECT_EQ(with_name(""), Errno::inval);
  EXPECT_EQ(with_name(".hidden"), Errno::inval);
  EXPECT_EQ(with_name("-x"), Errno::inval);
  EXPECT_EQ(with_name("a/b"), Errno::inval);
  EXPECT_EQ(with_name("a b"), Errno::inval);
  EXPECT_EQ(with_name("a\x01"), Errno::inval);
  EXPECT_EQ(with_name("_ok"), Errno::ok);
  EXPECT_EQ(with_name(std::string(63, 'n').c_str()), Errno::ok);
  auto c = good_create();
  std::memset(c.name, 'n', sizeof c.name);  // no NUL
  EXPECT_EQ(create_status(c), Errno::inval);
  c = good_create();
  std::memset(c.cmdline, 'c', sizeof c.cmdline);  // no NUL
  EXPECT_EQ(create_status(c), Errno::inval);
}

TEST(WireDomctl, OnDomainOps) {
  for (std::uint32_t subop : {2u, 3u, 4u, 5u}) {
    abi::DomctlDomain d{};
    d.domid = 5;
    EXPECT_EQ(decode_fixed(abi::Op::domctl, subop, d), Errno::ok) << subop;
    d.domid = abi::kDomidSelf;
    EXPECT_EQ(decode_fixed(abi::Op::domctl, subop, d), Errno::ok) << subop;
    d.domid = abi::kDomidSelf + 1;
    EXPECT_EQ(decode_fixed(abi::Op::domctl, subop, d), Errno::inval) << subop;
    d.domid = 0xffff;
    EXPECT_EQ(decode_fixed(abi::Op::domctl, subop, d), Errno::inval) << subop;
    d.domid = 1;
    d.pad = 1;
    EXPECT_EQ(decode_fixed(abi::Op::domctl, subop, d), Errno::inval) << subop;
    EXPECT_EQ(status_of(decode(abi::Op::domctl, subop, Bytes(3, 0))), Errno::inval) << subop;
    EXPECT_EQ(status_of(decode(abi::Op::domctl, subop, Bytes(8, 0))), Errno::inval) << subop;
  }
}

TEST(WireDomctl, RequestShutdown) {
  abi::DomctlShutdown s{};
  s.domid = 1;
  s.reason = 1;
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 100, s), Errno::ok);
  s.reason = 7;
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 100, s), Errno::inval);
  EXPECT_EQ(status_of(decode(abi::Op::domctl, 100, Bytes(4, 0))), Errno::inval);
}

TEST(WireDomctl, ConsoleRead) {
  abi::DomctlConsoleRead r{};
  r.domid = 1;
  r.max_bytes = 1;
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 101, r), Errno::ok);
  r.max_bytes = abi::kMaxPayload - sizeof(abi::DomctlConsoleData);
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 101, r), Errno::ok);
  r.max_bytes += 1;
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 101, r), Errno::inval);
  r.max_bytes = 0;
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 101, r), Errno::inval);
}

TEST(WireDomctl, ConsoleWrite) {
  abi::DomctlDomain d{};
  d.domid = 3;
  Bytes p = payload_of(d);
  EXPECT_EQ(status_of(decode(abi::Op::domctl, 102, p)), Errno::inval);  // no bytes
  p.push_back('x');
  const auto ok = decode(abi::Op::domctl, 102, p);
  ASSERT_TRUE(ok);
  EXPECT_EQ(std::get<DomainConsoleWrite>(ok->body).bytes, "x");
  EXPECT_EQ(status_of(decode(abi::Op::domctl, 102, Bytes(2, 0))), Errno::inval);
}

TEST(WireDomctl, SchedulerOp) {
  abi::DomctlSchedulerOp op{};
  op.domid = 1;
  op.sched_id = abi::kSchedulerCredit;
  op.cmd = abi::kSchedOpPutInfo;
  op.weight = 512;
  op.cap = 20;
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 16, op), Errno::ok);
  op.cmd = abi::kSchedOpGetInfo;
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 16, op), Errno::ok);
  op.cmd = 2;
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 16, op), Errno::inval);
  op.cmd = abi::kSchedOpPutInfo;
  op.sched_id = 6;  // XEN_SCHEDULER_ARINC653 and friends are not here
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 16, op), Errno::inval);
  op.sched_id = abi::kSchedulerCredit;
  op.pad = 1;
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 16, op), Errno::inval);
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 16, op, Caller::guest), Errno::perm);
}

TEST(WireDomctl, VcpuAffinity) {
  abi::DomctlVcpuAffinity a{};
  a.domid = 1;
  a.nr_cpus = 2;
  a.cpumap[0] = 0b10;
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 9, a), Errno::ok);
  a.cpumap[0] = 0b100;  // CPU 2 is not within nr_cpus
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 9, a), Errno::inval);
  a.cpumap[0] = 0;  // empty
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 9, a), Errno::inval);
  a.nr_cpus = abi::kMaxCpus;
  a.cpumap[15] = std::uint64_t{1} << 63;  // CPU 1023
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 9, a), Errno::ok);
  a.nr_cpus = 1000;
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 9, a), Errno::inval);
  a.nr_cpus = abi::kMaxCpus + 1;
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 9, a), Errno::inval);
  a.nr_cpus = abi::kMaxCpus;
  a.vcpu = 1;
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 9, a), Errno::inval);
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 25, a), Errno::inval);
  a.vcpu = 0;
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 25, a), Errno::ok);
  a.cpu = 3;
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 9, a), Errno::inval);
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 25, a), Errno::ok) << "OUT fields of a get are ignored";
}

TEST(WireDomctl, SaveAndRestoreTakeOneDescriptor) {
  abi::DomctlSaveDomain save{};
  save.domid = 1;
  save.record_size = 100;
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 103, save, Caller::domain0, 1), Errno::ok);
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 103, save, Caller::domain0, 0), Errno::badf);
  save.record_size = abi::kMaxToolstackRecordBytes + 1;
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 103, save, Caller::domain0, 1), Errno::inval);
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 103, save, Caller::guest, 1), Errno::perm);

  abi::DomctlRestoreDomain restore{};
  restore.ssidref = 0x00020002;
  restore.image_size = 1 << 20;
  restore.flags = abi::kRestorePaused;
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 104, restore, Caller::domain0, 1), Errno::ok);
  restore.flags = 2;
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 104, restore, Caller::domain0, 1), Errno::inval);
  restore.flags = 0;
  restore.image_size = 0;
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 104, restore, Caller::domain0, 1), Errno::inval);
  restore.image_size = kMaxSaveImageBytes + 1;
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 104, restore, Caller::domain0, 1), Errno::inval);
  restore.image_size = 4096;
  restore.pad2 = 1;
  EXPECT_EQ(decode_fixed(abi::Op::domctl, 104, restore, Caller::domain0, 1), Errno::inval);
}

// --- sysctl -----------------------------------------------------------------------

TEST(WireSysctl, PhysinfoAndDomainList) {
  EXPECT_EQ(status_of(decode(abi::Op::sysctl, 3, Bytes(1, 0))), Errno::inval);
  abi::SysctlDomainList l{};
  l.max_domains = 1;
  EXPECT_EQ(decode_fixed(abi::Op::sysctl, 6, l), Errno::ok);
  l.max_domains = abi::kMaxDomainInfoPerMessage;
  EXPECT_EQ(decode_fixed(abi::Op::sysctl, 6, l), Errno::ok);
  l.max_domains = abi::kMaxDomainInfoPerMessage + 1;
  EXPECT_EQ(decode_fixed(abi::Op::sysctl, 6, l), Errno::inval);
  l.max_domains = 0;
  EXPECT_EQ(decode_fixed(abi::Op::sysctl, 6, l), Errno::inval);
}

// --- xsm_op ---------------------------------------------------------------------------

TEST(WireXsm, InterfaceVersionMismatchIsEacces) {
  abi::AcmStats s{};
  s.interface_version = abi::kAcmInterfaceVersion + 1;
  EXPECT_EQ(decode_fixed(abi::Op::xsm_op, 3, s), Errno::acces);
  EXPECT_EQ(status_of(decode(abi::Op::xsm_op, 3, Bytes(3, 0))), Errno::inval);
  s.interface_version = abi::kAcmInterfaceVersion;
  EXPECT_EQ(decode_fixed(abi::Op::xsm_op, 3, s), Errno::ok);
}

TEST(WireXsm, FixedSizes) {
  const auto versioned = [](std::size_t size) {
    Bytes p(size, 0);
    const std::uint32_t v = abi::kAcmInterfaceVersion;
    std::memcpy(p.data(), &v, 4);
    return p;
  };
  const std::pair<std::uint32_t, std::size_t> ops[] = {{2, sizeof(abi::AcmGetPolicy)},
                                                       {3, sizeof(abi::AcmStats)},
                                                       {100, sizeof(abi::AcmAuditRead)}};
  for (const auto& [subop, size] : ops) {
    EXPECT_EQ(status_of(decode(abi::Op::xsm_op, subop, versioned(size))), Errno::ok) << subop;
    EXPECT_EQ(status_of(decode(abi::Op::xsm_op, subop, versioned(size + 1))), Errno::inval);
    EXPECT_EQ(status_of(decode(abi::Op::xsm_op, subop, versioned(size - 1))), Errno::inval);
  }
}

TEST(WireXsm, SetPolicyNeedsSizeAndMemfd) {
  abi::AcmSetPolicy s{abi::kAcmInterfaceVersion, 100};
  EXPECT_EQ(decode_fixed(abi::Op::xsm_op, 1, s, Caller::domain0, 1), Errno::ok);
  EXPECT_EQ(decode_fixed(abi::Op::xsm_op, 1, s, Caller::domain0, 0), Errno::badf);
  s.size = 0;
  EXPECT_EQ(decode_fixed(abi::Op::xsm_op, 1, s, Caller::domain0, 1), Errno::inval);
  s.size = kMaxPolicyBytes + 1;
  EXPECT_EQ(decode_fixed(abi::Op::xsm_op, 1, s, Caller::domain0, 1), Errno::inval);
}

TEST(WireXsm, GetSsidAndDecisionRanges) {
  abi::AcmGetSsid s{};
  s.interface_version = abi::kAcmInterfaceVersion;
  s.get_by = abi::kAcmGetBySsidref;
  s.id = 0xdeadbeef;
  EXPECT_EQ(decode_fixed(abi::Op::xsm_op, 4, s), Errno::ok);
  s.get_by = abi::kAcmGetByDomid;
  EXPECT_EQ(decode_fixed(abi::Op::xsm_op, 4, s), Errno::inval);  // not a domid
  s.id = 3;
  EXPECT_EQ(decode_fixed(abi::Op::xsm_op, 4, s), Errno::ok);
  s.get_by = 3;
  EXPECT_EQ(decode_fixed(abi::Op::xsm_op, 4, s), Errno::inval);

  abi::AcmGetDecision g{};
  g.interface_version = abi::kAcmInterfaceVersion;
  g.get_by1 = g.get_by2 = abi::kAcmGetBySsidref;
  g.hook = static_cast<std::uint32_t>(abi::AcmHook::sharing);
  EXPECT_EQ(decode_fixed(abi::Op::xsm_op, 5, g), Errno::ok);
  g.hook = 0;
  EXPECT_EQ(decode_fixed(abi::Op::xsm_op, 5, g), Errno::inval);
  g.hook = 4;
  EXPECT_EQ(decode_fixed(abi::Op::xsm_op, 5, g), Errno::inval);
  g.hook = 1;
  g.get_by2 = 0;
  EXPECT_EQ(decode_fixed(abi::Op::xsm_op, 5, g), Errno::inval);
}

Bytes change_payload(std::uint32_t del, std::uint32_t chg, std::size_t extra_words) {
  abi::AcmChangePolicy c{abi::kAcmInterfaceVersion, 64, del, chg};
  Bytes p = payload_of(c);
  p.resize(p.size() + extra_words * 4, 0);
  return p;
}

TEST(WireXsm, ChangePolicyCountsMustMatchThePayload) {
  const auto ok = decode(abi::Op::xsm_op, 6, change_payload(2, 1, 4), Caller::domain0, 1);
  ASSERT_TRUE(ok);
  const auto& body = std::get<AcmChangePolicy>(ok->body);
  EXPECT_EQ(body.deleted.size(), 2u);
  EXPECT_EQ(body.changed.size(), 1u);
  EXPECT_EQ(status_of(decode(abi::Op::xsm_op, 6, change_payload(2, 1, 3), Caller::domain0, 1)),
            Errno::inval);
  EXPECT_EQ(status_of(decode(abi::Op::xsm_op, 6, change_payload(2, 1, 5), Caller::domain0, 1)),
            Errno::inval);
  // Counts whose products overflow 32 bits must not wrap into a match.
  EXPECT_EQ(status_of(decode(abi::Op::xsm_op, 6, change_payload(0x40000000u, 0x20000000u, 0),
                             Caller::domain0, 1)),
            Errno::inval);
  Bytes short_head = change_payload(0, 0, 0);
  short_head.resize(12);
  EXPECT_EQ(status_of(decode(abi::Op::xsm_op, 6, short_head, Caller::domain0, 1)), Errno::inval);
}

TEST(WireXsm, Relabel) {
  abi::AcmRelabel r{abi::kAcmInterfaceVersion, 2};
  Bytes p = payload_of(r);
  abi::AcmRelabelEntry e{1, 0x00020002};
  append_bytes(p, bytes_of(e));
  append_bytes(p, bytes_of(e));
  EXPECT_TRUE(decode(abi::Op::xsm_op, 7, p));
  p.pop_back();
  EXPECT_EQ(status_of(decode(abi::Op::xsm_op, 7, p)), Errno::inval);
  abi::AcmRelabel none{abi::kAcmInterfaceVersion, 0};
  EXPECT_EQ(decode_fixed(abi::Op::xsm_op, 7, none), Errno::inval);
  abi::AcmRelabel one{abi::kAcmInterfaceVersion, 1};
  Bytes bad = payload_of(one);
  abi::AcmRelabelEntry far{0x10000, 1};
  append_bytes(bad, bytes_of(far));
  EXPECT_EQ(status_of(decode(abi::Op::xsm_op, 7, bad)), Errno::inval);
}

// --- event channels and grants (decoded now, handled next stage) ------------------------

TEST(WireEvtchn, Ranges) {
  abi::EvtchnAllocUnbound a{abi::kDomidSelf, 0, 0};
  EXPECT_EQ(decode_fixed(abi::Op::event_channel_op, 6, a, Caller::guest), Errno::ok);
  a.remote_dom = 0x7ff5;
  EXPECT_EQ(decode_fixed(abi::Op::event_channel_op, 6, a, Caller::guest), Errno::inval);
  abi::EvtchnSend s{abi::kMaxEventChannels};
  EXPECT_EQ(decode_fixed(abi::Op::event_channel_op, 4, s, Caller::guest), Errno::inval);
  s.port = abi::kMaxEventChannels - 1;
  EXPECT_EQ(decode_fixed(abi::Op::event_channel_op, 4, s, Caller::guest), Errno::ok);
  abi::EvtchnBindVirq v{static_cast<std::uint32_t>(abi::Virq::console), 0, 0};
  EXPECT_EQ(decode_fixed(abi::Op::event_channel_op, 1, v, Caller::guest), Errno::ok);
  v.virq = 5;
  EXPECT_EQ(decode_fixed(abi::Op::event_channel_op, 1, v, Caller::guest), Errno::inval);
  v.virq = 0;
  v.vcpu = 1;
  EXPECT_EQ(decode_fixed(abi::Op::event_channel_op, 1, v, Caller::guest), Errno::inval);
}

TEST(WireGnttab, Ranges) {
  abi::GntCopy c{};
  c.source.dom = abi::kDomidSelf;
  c.dest.dom = 2;
  c.length = abi::kPageSize;
  EXPECT_EQ(decode_fixed(abi::Op::grant_table_op, 5, c, Caller::guest), Errno::ok);
  c.dest.offset = 1;
  EXPECT_EQ(decode_fixed(abi::Op::grant_table_op, 5, c, Caller::guest), Errno::inval);
  c.dest.offset = 0;
  c.length = abi::kPageSize + 1;
  EXPECT_EQ(decode_fixed(abi::Op::grant_table_op, 5, c, Caller::guest), Errno::inval);
  abi::GntGrantAccess g{2, 0, 7, abi::kGrantReadOnly, 0};
  EXPECT_EQ(decode_fixed(abi::Op::grant_table_op, 100, g, Caller::guest), Errno::ok);
  g.flags = 2;
  EXPECT_EQ(decode_fixed(abi::Op::grant_table_op, 100, g, Caller::guest), Errno::inval);
  abi::GntEndAccess e{abi::kMaxGrantsPerDomain};
  EXPECT_EQ(decode_fixed(abi::Op::grant_table_op, 101, e, Caller::guest), Errno::inval);
}

// --- descriptors -------------------------------------------------------------------------

TEST(WireFds, DescriptorsAreClosedOnEveryRejectionAndKeptOnSuccess) {
  const auto before = open_fd_count();
  // An op that takes none, with two attached.
  EXPECT_EQ(status_of(decode(abi::Op::xen_version, 0, {}, Caller::guest, 2)), Errno::badf);
  // Privileged op from a guest, with descriptors.
  EXPECT_EQ(status_of(decode(abi::Op::domctl, 1, payload_of(good_create()), Caller::guest, 1)),
            Errno::perm);
  // Range error with its descriptor.
  auto c = good_create();
  c.memory_mib = 0;
  EXPECT_EQ(create_status(c, 1), Errno::inval);
  EXPECT_EQ(open_fd_count(), before);
  {
    const auto d = decode(abi::Op::domctl, 1, payload_of(good_create()), Caller::domain0, 1);
    ASSERT_TRUE(d);
    EXPECT_EQ(open_fd_count(), before + 1);
  }
  EXPECT_EQ(open_fd_count(), before);
}

// --- encoding ----------------------------------------------------------------------------

TEST(WireEncode, DecodedRequestsReencodeToTheSameBytes) {
  std::vector<Bytes> inputs;
  const auto add = [&](abi::Op op, std::uint32_t subop, const Bytes& payload, std::uint32_t fds) {
    inputs.push_back(datagram(header(op, subop, payload.size(), fds), payload));
  };
  add(abi::Op::xen_version, 0, {}, 0);
  add(abi::Op::console_io, 0, {'a', 'b'}, 0);
  add(abi::Op::domctl, 1, payload_of(good_create()), 1);
  add(abi::Op::xsm_op, 6, change_payload(1, 2, 5), 1);
  for (const Bytes& input : inputs) {
    const auto h = load_at<abi::MessageHeader>(input, 0);
    const auto d = decode_request(input, fake_fds(h.fd_count), Caller::domain0);
    ASSERT_TRUE(d) << d.error().reason;
    EXPECT_EQ(encode_request(h.seq, d->body), input);
  }
}

TEST(WireEncode, ResponsesAndNotificationsFrame) {
  const auto h = header(abi::Op::xen_version, 0, 0);
  const Bytes payload{1, 2, 3};
  const auto response = encode_response(h, Errno::acces, payload, 0);
  auto message = decode_reply(response, {});
  ASSERT_TRUE(message);
  EXPECT_EQ(message->header.status, -EACCES);
  EXPECT_EQ(message->header.seq, 7u);
  EXPECT_EQ(message->payload, payload);
  const auto note = encode_notification(abi::Op::console_io, 1, payload);
  message = decode_reply(note, {});
  ASSERT_TRUE(message);
  EXPECT_EQ(message->header.kind, static_cast<std::uint16_t>(abi::MessageKind::notification));
  // A request is not a reply.
  EXPECT_FALSE(decode_reply(datagram(h, {}), {}));
}

TEST(WireEncode, OpNames) {
  EXPECT_EQ(op_name(abi::Op::domctl, 1), "domctl/createdomain");
  EXPECT_EQ(op_name(abi::Op::xen_version, 0), "xen_version");
  EXPECT_EQ(op_name(abi::Op::domctl, 77), "domctl/77");
  EXPECT_EQ(op_name(static_cast<abi::Op>(5), 0), "op 5");
  EXPECT_EQ(op_name(Body{AcmAuditRead{}}), "xsm_op/audit_read");
  EXPECT_EQ(op_name(abi::Op::domctl, 9), "domctl/setvcpuaffinity");
  EXPECT_EQ(op_name(abi::Op::domctl, 16), "domctl/scheduler_op");
  EXPECT_EQ(op_name(abi::Op::domctl, 25), "domctl/getvcpuaffinity");
  EXPECT_EQ(op_name(Body{SaveDomain{}}), "domctl/save_domain");
  EXPECT_EQ(op_name(Body{RestoreDomain{}}), "domctl/restore_domain");
}

// --- sockets -------------------------------------------------------------------------------

class WireSocket : public ::testing::Test {
 protected:
  void SetUp() override {
    int ends[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends), 0);
    a_.reset(ends[0]);
    b_.reset(ends[1]);
  }
  UniqueFd a_, b_;
  std::vector<std::uint8_t> buffer_ = std::vector<std::uint8_t>(abi::kMaxMessageSize);
};

TEST_F(WireSocket, MessageWithDescriptors) {
  const Bytes msg = encode_request(3, XenVersion{});
  UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  const int fds[] = {null.get()};
  ASSERT_EQ(send_datagram(a_.get(), msg, fds, false), SendStatus::sent);
  auto r = receive_datagram(b_.get(), buffer_, true);
  ASSERT_EQ(r.status, RecvStatus::message);
  EXPECT_EQ(r.size, msg.size());
  ASSERT_EQ(r.fds.size(), 1u);
  EXPECT_NE(::fcntl(r.fds[0].get(), F_GETFD) & FD_CLOEXEC, 0) << "MSG_CMSG_CLOEXEC";
  EXPECT_EQ(receive_datagram(b_.get(), buffer_, true).status, RecvStatus::would_block);
}

TEST_F(WireSocket, OversizedDatagramIsAViolation) {
  const Bytes big(abi::kMaxMessageSize + 1, 0);
  ASSERT_EQ(send_datagram(a_.get(), big, {}, false), SendStatus::sent);
  const auto r = receive_datagram(b_.get(), buffer_, true);
  EXPECT_EQ(r.status, RecvStatus::violation);
}

TEST_F(WireSocket, TooManyDescriptorsAreAViolationAndNoneLeak) {
  const auto before = open_fd_count();
  {
    std::vector<UniqueFd> owned = fake_fds(abi::kMaxFds + 3);
    std::vector<int> raw;
    for (auto& fd : owned) raw.push_back(fd.get());
    // send_datagram refuses more than kMaxFds itself: build the cmsg by hand.
    const Bytes msg = encode_request(1, XenVersion{});
    iovec iov{const_cast<std::uint8_t*>(msg.data()), msg.size()};
    std::vector<char> control(CMSG_SPACE(sizeof(int) * raw.size()));
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control.data();
    m.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * raw.size());
    std::memcpy(CMSG_DATA(c), raw.data(), sizeof(int) * raw.size());
    ASSERT_GT(::sendmsg(a_.get(), &m, 0), 0);
    const auto r = receive_datagram(b_.get(), buffer_, true);
    EXPECT_EQ(r.status, RecvStatus::violation);
  }
  EXPECT_EQ(open_fd_count(), before);
}

TEST_F(WireSocket, EmptyDatagramIsNotAClose) {
  ASSERT_EQ(::send(a_.get(), "", 0, 0), 0);
  EXPECT_EQ(receive_datagram(b_.get(), buffer_, true).status, RecvStatus::violation);
  a_.reset();
  EXPECT_EQ(receive_datagram(b_.get(), buffer_, true).status, RecvStatus::closed);
}

TEST_F(WireSocket, SendToAClosedPeer) {
  b_.reset();
  EXPECT_EQ(send_datagram(a_.get(), encode_request(1, XenVersion{}), {}, true),
            SendStatus::peer_gone);
}

}  // namespace
}  // namespace shype::hv::wire
