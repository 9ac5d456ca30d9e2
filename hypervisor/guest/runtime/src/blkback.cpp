// blkback for driver domains (blkback.hpp): serves other domains' block
// devices from this domain's own disks.
#include "shype/guest/blkback.hpp"

#include "backend_common.hpp"
#include "internal.hpp"
#include "shype/guest/blkfront.hpp"
#include "shype/guest/event_channel.hpp"
#include "shype/guest/grant_table.hpp"
#include "shype/guest/runtime.hpp"
#include "shype/guest/syscall.hpp"
#include "shype/guest/xenbus.hpp"
#include "shype/io/blkif.hpp"
#include "shype/io/xenbus.hpp"
#include "shype/xsm_op.hpp"
#include "text.hpp"

extern "C" void* memcpy(void* destination, const void* source, std::size_t count);

namespace shype::guest::blkback {
namespace {

using abi::io::BlkifBackRing;
using abi::io::BlkifOp;
using abi::io::BlkifRequest;
using abi::io::BlkifResponse;
using abi::io::BlkifSharedRing;
using abi::io::XenbusState;

constexpr std::uint32_t kMaxVolumes = blkfront::kMaxDisks;
constexpr std::size_t kPathMax = 160;
constexpr std::size_t kTextMax = 256;
constexpr std::uint32_t kMaxMapped = 64;  // persistent grants kept per client
constexpr std::uint32_t kVolumePool = 32;
constexpr const char* kWatchToken = "blkback";
using sys::kENODEV;

using detail::copy_text;
using detail::equal;
using detail::length_of;
using detail::parse_u64;
using Text = detail::Text<kTextMax>;
// ---- state -----------------------------------------------------------------

struct Volume {
  int disk = -1;
  std::uint32_t devid = 0;
  std::uint64_t sectors = 0;
  bool readonly = false;
  char params[kTextMax] = {};
};

struct Mapped {
  abi::grant_ref_t ref = 0;
  gnttab::Mapping map{};
};

enum class Phase : std::uint8_t { free, init_wait, connected, refused };

struct Client {
  Phase phase = Phase::free;
  bool seen = false;
  abi::domid_t front = 0;
  std::uint32_t devid = 0;
  int volume = -1;
  bool writable = false;
  char dir[kPathMax] = {};        // our backend directory of the device
  char front_dir[kPathMax] = {};  // the client's frontend directory
  abi::evtchn_port_t port = 0;    // ours, bound to the client's
  gnttab::Mapping ring_map{};
  bool ring_mapped = false;
  BlkifBackRing ring{};
  Mapped mapped[kMaxMapped] = {};
  std::uint32_t mapped_count = 0;
};

constinit Volume g_volumes[kMaxVolumes] = {};
constinit std::uint32_t g_volume_count = 0;
constinit Client g_clients[kMaxClients] = {};
constinit Stats g_stats = {};
constinit bool g_started = false;
constinit std::uint64_t g_generation = ~std::uint64_t{0};  // the first poll scans
constinit char g_root[kPathMax] = {};  // <home>/backend/vbd
// One request's data: at most kBlkifMaxSegments pages.
alignas(4096) constinit std::uint8_t g_bounce[abi::io::kBlkifMaxSegments * abi::kPageSize] = {};
constinit char g_list[2048] = {};
constinit char g_list2[2048] = {};

// ---- xenstore helpers -------------------------------------------------------

Text path(const char* dir, const char* node) {
  Text t;
  t.add(dir).add("/").add(node);
  return t;
}

// ---- clients ----------------------------------------------------------------

void refuse(Client& c, const char* why) {
  (void)xenbus::write_node(c.dir, "error", why);
  (void)xenbus::switch_state(c.dir, XenbusState::closed);
  console_printf("blkback: device %u of domain %u refused: %s\n", c.devid,
                 static_cast<unsigned>(c.front), why);
  c.phase = Phase::refused;
  ++g_stats.refused;
}

void disconnect(Client& c) {
  for (std::uint32_t i = 0; i < c.mapped_count; ++i) (void)gnttab::unmap(c.mapped[i].map);
  c.mapped_count = 0;
  if (c.ring_mapped) (void)gnttab::unmap(c.ring_map);
  c.ring_mapped = false;
  if (c.port != 0) (void)evtchn::close(c.port);
  c.port = 0;
  if (c.phase == Phase::connected && g_stats.connected > 0) --g_stats.connected;
}

void release(Client& c, bool directory_gone) {
  disconnect(c);
  const Text watched = path(c.front_dir, "state");
  if (c.front_dir[0] != '\0') (void)xenbus::unwatch(watched.c_str(), kWatchToken);
  if (!directory_gone) (void)xenbus::switch_state(c.dir, XenbusState::closed);
  c = Client{};
}

// A new device in our backend directory: find the disk, publish it, wait
// for the client.
void set_up(Client& c) {
  char params[kTextMax];
  char mode[8];
  char number[32];
  if (xenbus::read_node(c.dir, "params", params, sizeof params) != 0 ||
      xenbus::read_node(c.dir, "mode", mode, sizeof mode) != 0 ||
      xenbus::read_node(c.dir, "frontend", c.front_dir, sizeof c.front_dir) != 0) {
    refuse(c, "the device's params, mode or frontend node is missing");
    return;
  }
  c.writable = mode[0] == 'w';
  for (std::uint32_t v = 0; v < g_volume_count; ++v) {
    if (equal(g_volumes[v].params, params)) c.volume = static_cast<int>(v);
  }
  if (c.volume < 0) {
    Text why;
    why.add("no disk of this domain holds ").add(params);
    refuse(c, why.c_str());
    return;
  }
  const Volume& volume = g_volumes[c.volume];
  if (c.writable && volume.readonly) {
    refuse(c, "the disk is read-only in this domain");
    return;
  }
  if (xenbus::read_node(c.dir, "resource-ssidref", number, sizeof number) != 0) {
    refuse(c, "the device has no resource-ssidref: its resource label is unknown");
    return;
  }
  (void)xenbus::write_node_u64(c.dir, "sectors", volume.sectors);
  (void)xenbus::write_node_u64(c.dir, "sector-size", abi::io::kSectorSize);
  (void)xenbus::write_node_u64(c.dir, "info", c.writable ? 0 : abi::io::kVdiskReadonly);
  (void)xenbus::write_node(c.dir, "feature-persistent", "1");
  (void)xenbus::switch_state(c.dir, XenbusState::init_wait);
  const Text watched = path(c.front_dir, "state");
  (void)xenbus::watch(watched.c_str(), kWatchToken);
  c.phase = Phase::init_wait;
}

bool resource_permitted(abi::domid_t front, std::uint32_t ssidref, int* status) {
  abi::AcmResourceAccess request{};
  request.interface_version = abi::kAcmInterfaceVersion;
  request.domid = front;
  request.ssidref = ssidref;
  abi::AcmResourceAccess answer{};
  std::size_t length = 0;
  *status = hypercall(abi::Op::xsm_op, static_cast<std::uint32_t>(abi::AcmOp::resource_access),
                      &request, sizeof request, &answer, sizeof answer, &length, nullptr, 0,
                      nullptr);
  return *status == 0 && length == sizeof answer && answer.decision == abi::kAcmAccessPermitted;
}

// In InitWait: once the client published its ring, check and connect.
void try_connect(Client& c) {
  const XenbusState front = xenbus::read_state(c.front_dir);
  if (front == XenbusState::closing || front == XenbusState::closed) return;
  if (front != XenbusState::initialised && front != XenbusState::connected) return;
  char number[32];
  std::uint64_t ring_ref = 0;
  std::uint64_t remote_port = 0;
  std::uint64_t ssidref = 0;
  const struct {
    const char* dir;
    const char* node;
    std::uint64_t* value;
  } wanted[] = {{c.front_dir, "ring-ref", &ring_ref},
                {c.front_dir, "event-channel", &remote_port},
                {c.dir, "resource-ssidref", &ssidref}};
  for (const auto& w : wanted) {
    const int rc = xenbus::read_node(w.dir, w.node, number, sizeof number);
    if (rc != 0 || !parse_u64(number, w.value) || *w.value > 0xffffffffu) {
      Text why;
      why.add("the node ").add(w.node).add(" is ").add(rc != 0 ? "unreadable" : "malformed");
      if (rc != 0) why.add(" (errno ").add(static_cast<std::uint64_t>(-rc)).add(")");
      refuse(c, why.c_str());
      return;
    }
  }
  // The hypervisor decides whether the two domains may share at all.
  const std::int64_t port =
      evtchn::bind_interdomain(c.front, static_cast<abi::evtchn_port_t>(remote_port));
  if (port < 0) {
    Text why;
    why.add("the hypervisor refused the event channel (errno ").add(
        static_cast<std::uint64_t>(-port)).add(")");
    refuse(c, why.c_str());
    return;
  }
  c.port = static_cast<abi::evtchn_port_t>(port);
  // This domain enforces the resource's label: a type in common with the client's.
  int status = 0;
  if (!resource_permitted(c.front, static_cast<std::uint32_t>(ssidref), &status)) {
    disconnect(c);
    Text why;
    why.add("access to ").add(g_volumes[c.volume].params).add(" denied by the policy");
    if (status != 0) why.add(" (errno ").add(static_cast<std::uint64_t>(-status)).add(")");
    refuse(c, why.c_str());
    return;
  }
  const int mapped = gnttab::map(c.front, static_cast<abi::grant_ref_t>(ring_ref), false, &c.ring_map);
  if (mapped != 0) {
    disconnect(c);
    refuse(c, "the client's ring page cannot be mapped");
    return;
  }
  c.ring_mapped = true;
  c.ring = BlkifBackRing(static_cast<BlkifSharedRing*>(c.ring_map.address));
  (void)xenbus::switch_state(c.dir, XenbusState::connected);
  c.phase = Phase::connected;
  ++g_stats.connected;
  console_printf("blkback: serving %s to domain %u as device %u\n", g_volumes[c.volume].params,
                 static_cast<unsigned>(c.front), c.devid);
}

// The client's page for `ref`, mapped once and kept (persistent grants);
// nullptr if it cannot be mapped.
void* page_of(Client& c, abi::grant_ref_t ref) {
  for (std::uint32_t i = 0; i < c.mapped_count; ++i) {
    if (c.mapped[i].ref == ref) return c.mapped[i].map.address;
  }
  if (c.mapped_count == kMaxMapped) return nullptr;
  Mapped& m = c.mapped[c.mapped_count];
  if (gnttab::map(c.front, ref, false, &m.map) != 0) return nullptr;
  m.ref = ref;
  ++c.mapped_count;
  return m.map.address;
}

std::int16_t handle(Client& c, const BlkifRequest& request) {
  const Volume& volume = g_volumes[c.volume];
  const auto op = static_cast<BlkifOp>(request.operation);
  if (op == BlkifOp::flush_diskcache) {
    if (request.nr_segments != 0) return abi::io::kBlkifRspError;
    return blkfront::flush(volume.disk) == 0 ? abi::io::kBlkifRspOkay : abi::io::kBlkifRspError;
  }
  if (op != BlkifOp::read && op != BlkifOp::write) return abi::io::kBlkifRspEopnotsupp;
  if (request.nr_segments < 1 || request.nr_segments > abi::io::kBlkifMaxSegments) {
    return abi::io::kBlkifRspError;
  }
  if (op == BlkifOp::write && !c.writable) return abi::io::kBlkifRspError;
  std::uint64_t total = 0;
  void* pages[abi::io::kBlkifMaxSegments];
  for (std::uint32_t i = 0; i < request.nr_segments; ++i) {
    const abi::io::BlkifSegment& seg = request.seg[i];
    if (seg.first_sect > seg.last_sect || seg.last_sect >= abi::io::kSectorsPerPage) {
      return abi::io::kBlkifRspError;
    }
    pages[i] = page_of(c, seg.gref);
    if (pages[i] == nullptr) return abi::io::kBlkifRspError;
    total += static_cast<std::uint64_t>(seg.last_sect - seg.first_sect) + 1;
  }
  if (request.sector_number > volume.sectors || total > volume.sectors - request.sector_number) {
    return abi::io::kBlkifRspError;
  }
  std::uint8_t* cursor = g_bounce;
  if (op == BlkifOp::write) {
    for (std::uint32_t i = 0; i < request.nr_segments; ++i) {
      const abi::io::BlkifSegment& seg = request.seg[i];
      const std::size_t bytes = (static_cast<std::size_t>(seg.last_sect - seg.first_sect) + 1) *
                                abi::io::kSectorSize;
      memcpy(cursor, static_cast<std::uint8_t*>(pages[i]) + seg.first_sect * abi::io::kSectorSize,
             bytes);
      cursor += bytes;
    }
    return blkfront::write(volume.disk, request.sector_number, total, g_bounce) == 0
               ? abi::io::kBlkifRspOkay
               : abi::io::kBlkifRspError;
  }
  if (blkfront::read(volume.disk, request.sector_number, total, g_bounce) != 0) {
    return abi::io::kBlkifRspError;
  }
  for (std::uint32_t i = 0; i < request.nr_segments; ++i) {
    const abi::io::BlkifSegment& seg = request.seg[i];
    const std::size_t bytes =
        (static_cast<std::size_t>(seg.last_sect - seg.first_sect) + 1) * abi::io::kSectorSize;
    memcpy(static_cast<std::uint8_t*>(pages[i]) + seg.first_sect * abi::io::kSectorSize, cursor,
           bytes);
    cursor += bytes;
  }
  return abi::io::kBlkifRspOkay;
}

void serve_ring(Client& c) {
  for (std::uint32_t round = 0; round < 64; ++round) {
    BlkifRequest request;
    std::uint32_t answered = 0;
    while (answered < c.ring.size() && c.ring.take_request(&request)) {
      BlkifResponse response{};
      response.id = request.id;
      response.operation = request.operation;
      response.status = handle(c, request);
      if (response.status == abi::io::kBlkifRspOkay) {
        ++g_stats.requests;
      } else {
        ++g_stats.errors;
      }
      c.ring.put_response(response);
      ++answered;
    }
    if (c.ring.overflowed()) {
      console_printf("blkback: domain %u overflowed its ring: disconnected\n",
                     static_cast<unsigned>(c.front));
      disconnect(c);
      refuse(c, "the client published more requests than its ring holds");
      return;
    }
    if (answered > 0 && c.ring.push_responses()) (void)evtchn::notify(c.port);
    if (answered == 0 && !c.ring.final_check_for_requests()) return;
  }
}

// Brings the client table in line with backend/vbd/<front>/<devid>.
void rescan() {
  detail::scan_backend_directory(
      g_root, g_clients, g_list, sizeof g_list, g_list2, sizeof g_list2,
      [](const Client& c) { return c.phase == Phase::free; }, [](Client& c) { set_up(c); });
  for (Client& c : g_clients) {
    if (c.phase != Phase::free && !c.seen) release(c, /*directory_gone=*/true);
  }
  // A device whose state is Initialising again was written again by the
  // toolstack (a new xend, whose store is new): it starts over, and the
  // client, which lost this backend meanwhile, joins it again.
  for (Client& c : g_clients) {
    if (c.phase == Phase::free || xenbus::read_state(c.dir) != XenbusState::initialising) continue;
    const abi::domid_t front = c.front;
    const std::uint32_t devid = c.devid;
    char dir[kPathMax];
    copy_text(dir, sizeof dir, c.dir);
    release(c, /*directory_gone=*/true);
    c.front = front;
    c.devid = devid;
    c.seen = true;
    copy_text(c.dir, sizeof c.dir, dir);
    set_up(c);
  }
}

// Frontend state changes: connect clients that are ready, let go of those
// that closed.
void follow_frontends() {
  for (Client& c : g_clients) {
    if (c.phase == Phase::init_wait) {
      try_connect(c);
    } else if (c.phase == Phase::connected) {
      const XenbusState front = xenbus::read_state(c.front_dir);
      if (front == XenbusState::closing || front == XenbusState::closed ||
          front == XenbusState::unknown) {
        disconnect(c);
        (void)xenbus::switch_state(c.dir, XenbusState::closed);
        c.phase = Phase::refused;  // stays until the toolstack removes the device
      }
    }
  }
}

}  // namespace

int start() {
  if (!devices_available()) return -kENODEV;
  if (g_started) return static_cast<int>(g_volume_count);
  std::uint32_t devids[kMaxVolumes];
  const int found = blkfront::discover(devids, kMaxVolumes);
  if (found < 0) return found;
  for (int i = 0; i < found && g_volume_count < kMaxVolumes; ++i) {
    Volume& volume = g_volumes[g_volume_count];
    char why[128] = {};
    const int disk = blkfront::connect(devids[i], kVolumePool, why, sizeof why);
    if (disk < 0) {
      console_printf("blkback: own disk %u not connected: %s\n", devids[i], why);
      continue;
    }
    // Which resource it is: the params Domain-0's backend recorded.
    Text front_dir;
    front_dir.add("device/vbd/").add(devids[i]);
    char backend[kPathMax];
    if (xenbus::read_node(front_dir.c_str(), "backend", backend, sizeof backend) != 0 ||
        xenbus::read_node(backend, "params", volume.params, sizeof volume.params) != 0) {
      console_printf("blkback: own disk %u: its resource name is unknown\n", devids[i]);
      (void)blkfront::disconnect(disk);
      continue;
    }
    const blkfront::DiskInfo* info = blkfront::info(disk);
    volume.disk = disk;
    volume.devid = devids[i];
    volume.sectors = info != nullptr ? info->sectors : 0;
    volume.readonly = info != nullptr && info->readonly;
    ++g_volume_count;
  }
  Text root;
  root.add(xenbus::home()).add("/backend/vbd");
  copy_text(g_root, sizeof g_root, root.c_str());
  const int watched = xenbus::watch(g_root, kWatchToken);
  if (watched != 0) return watched;
  g_started = true;
  return static_cast<int>(g_volume_count);
}

int poll() {
  if (!g_started) return -kENODEV;
  // Watch events are shared with the other backends of this domain (a
  // driver domain's netback): whoever took ours, the count changed.
  char event_path[kPathMax];
  char token[32];
  for (;;) {
    const int rc = xenbus::wait_watch(event_path, sizeof event_path, token, sizeof token, 0);
    if (rc == -sys::kETIMEDOUT) break;
    if (rc != 0) return rc;
  }
  bool worked = false;
  const std::uint64_t generation = xenbus::watch_events_taken();
  if (generation != g_generation) {
    g_generation = generation;
    rescan();
    follow_frontends();
    worked = true;
  }
  for (Client& c : g_clients) {
    if (c.phase != Phase::connected) continue;
    const std::uint64_t before = g_stats.requests + g_stats.errors;
    serve_ring(c);
    if (g_stats.requests + g_stats.errors != before) worked = true;
  }
  return worked ? 1 : 0;
}

int serve(std::int64_t timeout_ns) {
  if (!g_started) return -kENODEV;
  const std::uint64_t deadline =
      now_ns() + static_cast<std::uint64_t>(timeout_ns > 0 ? timeout_ns : 0);
  for (;;) {
    const int rc = poll();
    if (rc < 0) return rc;
    const std::uint64_t now = now_ns();
    if (now >= deadline) return 0;
    if (rc == 0) detail::wait_a_little(static_cast<std::int64_t>(deadline - now));
  }
}

Stats stats() { return g_stats; }

}  // namespace shype::guest::blkback
