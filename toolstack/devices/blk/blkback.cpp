// blkback: Domain-0's block backend (shype/io/blkif.hpp, backend_driver.hpp).
//
// One BlkDevice per directory /local/domain/0/backend/vbd/<front>/<devid>/.
// Its life:
//   state Initialising (the toolstack wrote the directory)
//     -> policy check: the hypervisor must let the frontend domain use a
//        resource with the disk's label (xsm_op resource_access, which audits
//        a refusal); refused: an `error` node saying why, state Closed,
//        nothing is opened
//     -> open the image inside SHYPE_ROOT (read-only for mode "r"), publish
//        sectors / sector-size / info / feature-persistent, state InitWait
//     -> the frontend says Initialised: map its ring, bind its event
//        channel, state Connected, serve
//     -> the frontend closes (or its directory or ours goes away): unmap
//        every page, close the channel and the file, state Closed.
//
// Serving: every request is copied out of the ring (BackRing) and checked
// by decode_blkif_request before anything is touched; data pages are mapped
// once and kept (persistent grants, a cache bounded by ring slots x
// segments); reads and writes go straight between the file and the mapped
// pages with preadv/pwritev; all pending requests are answered before one
// notification. A bad request gets an error response; a frontend that
// claims more requests than the ring holds is disconnected. Nothing a
// frontend does stops the driver or another device.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "device_dirs.hpp"
#include "devices/answer_pacing.hpp"
#include "devices/backend_driver.hpp"
#include "devices/blkif_request.hpp"
#include "resources/root_fs.hpp"
#include "shype/io/blkif.hpp"
#include "shype/io/xenbus.hpp"

namespace shype::devices {
namespace {

using abi::io::BlkifBackRing;
using abi::io::BlkifOp;
using abi::io::BlkifRequest;
using abi::io::BlkifResponse;
using abi::io::BlkifSharedRing;
using abi::io::XenbusState;

constexpr std::string_view kVbdRoot = "/local/domain/0/backend/vbd";
// Persistent data mappings one device may hold: every slot's every segment.
constexpr std::size_t kMaxCachedGrants =
    std::size_t{BlkifSharedRing::kSlots} * abi::io::kBlkifMaxSegments;
// Requests served per turn of the device loop before the others get theirs.
constexpr std::uint32_t kRequestsPerTurn = 4 * BlkifSharedRing::kSlots;
// Requests done in one go (one preadv/pwritev per contiguous run) before
// their responses are published and the frontend notified: half a ring
// (16 x 11 pages = 704 KiB), so that a frontend that keeps the ring full
// refills one half while the other is served; a whole ring when those
// answers keep handing the backend's CPU to the frontend (AnswerPacing).
// more_soon(): pauses (about 20 ns each on x86-64) spent watching the ring.
constexpr std::uint32_t kSpinPauses = 1280;
// Log lines about one device's bad requests (the counters keep the rest).
constexpr std::uint32_t kMaxLoggedErrors = 8;

// The path part of a resource name as blkback opens it: "file:/x.img",
// "phy:/dev/sdb", "tap:aio:/x.img".
std::optional<std::string> resource_path(std::string_view params) {
  std::string_view rest;
  if (params.starts_with("file:")) {
    rest = params.substr(5);
  } else if (params.starts_with("phy:")) {
    rest = params.substr(4);
  } else if (params.starts_with("tap:")) {
    const auto colon = params.find(':', 4);
    if (colon == std::string_view::npos) return std::nullopt;
    rest = params.substr(colon + 1);
  } else {
    return std::nullopt;
  }
  if (!rest.starts_with('/')) return std::nullopt;
  return std::string(rest);
}

class BlkDevice {
 public:
  BlkDevice(DeviceLoop& loop, abi::domid_t front, std::uint32_t devid)
      : loop_(loop),
        front_(front),
        devid_(devid),
        dir_(std::string(kVbdRoot) + "/" + std::to_string(front) + "/" + std::to_string(devid)) {}
  BlkDevice(const BlkDevice&) = delete;
  BlkDevice& operator=(const BlkDevice&) = delete;
  ~BlkDevice() {
    if (frontend_watch_ != 0) loop_.store().unwatch(frontend_watch_);
    disconnect();
  }

  [[nodiscard]] const BackendStats& stats() const { return stats_; }

  // The toolstack's directory is complete: check, open, publish, InitWait.
  void start() {
    if (auto refused = prepare(); !refused.empty()) {
      fail(refused);
      return;
    }
    phase_ = Phase::init_wait;
    const std::string fe_state = frontend_dir_ + "/state";
    frontend_watch_ = loop_.store().watch(fe_state, [this](const std::string&) {
      on_frontend_changed();
    });
  }

 private:
  enum class Phase : std::uint8_t { new_device, init_wait, connected, closed };

  [[nodiscard]] std::optional<std::string> read(const std::string& node) {
    auto value = loop_.store().read(dir_ + "/" + node);
    if (!value) return std::nullopt;
    return *value;
  }
  void write(const std::string& node, std::string_view value) {
    // The toolstack removed the directory: writing would bring it back.
    if (!loop_.store().directory(dir_)) return;
    if (auto w = loop_.store().write(dir_ + "/" + node, value); !w) {
      loop_.log().warning("blkback " + dir_ + ": cannot write " + node + ": " +
                          std::strerror(w.error()));
    }
  }

  // Everything before InitWait; returns why the device may not connect
  // ("" when it may).
  std::string prepare() {
    const auto frontend = read("frontend");
    const auto params = read("params");
    const auto mode = read("mode");
    const auto ssidref_text = read("resource-ssidref");
    if (!frontend || !params || !mode) return "incomplete backend directory (frontend, params, mode)";
    const std::string expected_frontend =
        "/local/domain/" + std::to_string(front_) + "/device/vbd/" + std::to_string(devid_);
    if (*frontend != expected_frontend) return "frontend path " + *frontend + " is not " + expected_frontend;
    frontend_dir_ = *frontend;
    if (*mode == "r") {
      readonly_ = true;
    } else if (*mode == "w" || *mode == "w!") {
      readonly_ = false;
    } else {
      return "bad mode '" + *mode + "' (r, w or w!)";
    }
    if (!ssidref_text) return "no resource-ssidref: the resource's label is unknown";
    const auto ssidref = parse_number<std::uint32_t>(*ssidref_text);
    if (!ssidref) return "bad resource-ssidref '" + *ssidref_text + "'";
    resource_ = *params;

    // The policy: may the frontend domain use a resource with this label?
    // (The same question a driver domain's blkback asks; a refusal is in the
    // hypervisor's audit log.)
    auto decision = loop_.hv().resource_access(front_, *ssidref);
    if (!decision) return "cannot ask the hypervisor: " + decision.error().to_string();
    if (*decision != abi::kAcmAccessPermitted) {
      return "access to block device '" + *params + "' denied by the policy for domain " +
             std::to_string(front_);
    }

    const auto path = resource_path(*params);
    if (!path) return "unsupported resource '" + *params + "' (file:, phy: or tap: with an absolute path)";
    const resources::RootFs rootfs(loop_.root());
    auto opened = rootfs.open_in_root(*path, readonly_ ? O_RDONLY : O_RDWR);
    if (!opened) return "cannot open '" + *params + "': " + opened.error().message;
    struct stat st {};
    if (::fstat(opened->get(), &st) != 0) return "cannot stat '" + *params + "': " + std::strerror(errno);
    std::uint64_t bytes = 0;
    if (S_ISREG(st.st_mode)) {
      bytes = static_cast<std::uint64_t>(st.st_size);
    } else if (S_ISBLK(st.st_mode)) {
      if (::ioctl(opened->get(), BLKGETSIZE64, &bytes) != 0) {
        return "cannot size '" + *params + "': " + std::strerror(errno);
      }
    } else {
      return "'" + *params + "' is neither a regular file nor a block device";
    }
    file_ = std::move(*opened);
    geometry_.sectors = bytes / abi::io::kSectorSize;
    geometry_.readonly = readonly_;
    geometry_.handle = static_cast<std::uint16_t>(devid_ & 0xffffu);

    write("sectors", std::to_string(geometry_.sectors));
    write("sector-size", std::to_string(abi::io::kSectorSize));
    write("info", std::to_string(readonly_ ? abi::io::kVdiskReadonly : 0u));
    write("feature-persistent", "1");
    write("state", state_text(XenbusState::init_wait));
    return {};
  }

  // Refuses the device for good: says why, Closed.
  void fail(const std::string& why) {
    loop_.log().warning("blkback " + dir_ + ": " + why);
    disconnect();
    write("error", why);
    write("state", state_text(XenbusState::closed));
    phase_ = Phase::closed;
  }

  void on_frontend_changed() {
    if (phase_ == Phase::closed || phase_ == Phase::new_device) return;
    auto text = loop_.store().read(frontend_dir_ + "/state");
    if (!text) {
      // The frontend directory is gone: nobody to serve.
      if (phase_ == Phase::connected) close("the frontend directory was removed");
      return;
    }
    const auto state = parse_number<std::uint32_t>(*text).value_or(0);
    switch (static_cast<XenbusState>(state)) {
      case XenbusState::initialised:
      case XenbusState::connected:
        if (phase_ == Phase::init_wait) connect();
        break;
      case XenbusState::closing:
      case XenbusState::closed:
        close("");
        break;
      default:
        break;
    }
  }

  void connect() {
    auto fe = [this](const char* node) { return loop_.store().read(frontend_dir_ + "/" + node); };
    const auto ring_text = fe("ring-ref");
    const auto port_text = fe("event-channel");
    if (!ring_text || !port_text) {
      fail("the frontend published no ring-ref or event-channel");
      return;
    }
    const auto ring_ref = parse_number<abi::grant_ref_t>(*ring_text);
    const auto port = parse_number<abi::evtchn_port_t>(*port_text);
    if (!ring_ref || !port) {
      fail("the frontend's ring-ref '" + *ring_text + "' or event-channel '" + *port_text +
           "' is not a number");
      return;
    }
    if (const auto protocol = fe("protocol"); protocol && *protocol != "x86_64-abi") {
      fail("unsupported protocol '" + *protocol + "' (x86_64-abi)");
      return;
    }
    auto ring = MappedPage::map(loop_.hv(), front_, *ring_ref, false);
    if (!ring) {
      fail("cannot map the ring (grant " + *ring_text + "): " + ring.error().to_string());
      return;
    }
    auto binding = loop_.hv().evtchn_bind_interdomain(front_, *port);
    if (!binding) {
      fail("cannot bind event channel " + *port_text + ": " + binding.error().to_string());
      return;
    }
    ring_page_ = std::move(*ring);
    // SAFETY: the mapped page is one page, at least sizeof(BlkifSharedRing);
    // BackRing only copies requests out of it and never trusts its contents.
    ring_ = BlkifBackRing(static_cast<BlkifSharedRing*>(ring_page_.data()));
    channel_ = std::move(*binding);
    loop_.add_fd(channel_->own.get(), [this] { serve(); });
    phase_ = Phase::connected;
    write("state", state_text(XenbusState::connected));
    loop_.log().info("blkback " + dir_ + ": connected " + resource_ + (readonly_ ? " (r)" : " (w)") +
                     ", " + std::to_string(geometry_.sectors) + " sectors");
    serve();  // requests published before the bind
  }

  // Orderly end (frontend closed, directory gone, broken frontend).
  void close(const std::string& why) {
    if (phase_ == Phase::closed) return;
    disconnect();
    if (!why.empty()) {
      loop_.log().warning("blkback " + dir_ + ": " + why);
      write("error", why);
    }
    phase_ = Phase::closed;
    write("state", state_text(XenbusState::closed));
  }

  // Releases everything the device holds (no xenstore writes).
  void disconnect() {
    if (channel_) {
      loop_.remove_fd(channel_->own.get());
      (void)loop_.hv().evtchn_close(channel_->port);
      channel_.reset();
    }
    grants_.clear();
    ring_ = BlkifBackRing();
    ring_page_.reset();
    file_.reset();
  }

  // One checked read or write whose pages are mapped, waiting to be done.
  struct Pending {
    std::uint64_t id = 0;
    std::uint8_t operation = 0;
    off_t offset = 0;
    std::size_t bytes = 0;
    std::uint32_t nr_iov = 0;
    std::array<iovec, abi::io::kBlkifMaxSegments> iov{};
  };

  void serve() {
    if (phase_ != Phase::connected || !channel_) return;
    (void)xc::Connection::wait_doorbell(channel_->own.get(), std::chrono::milliseconds{0});
    bool more = false;
    std::uint32_t served = 0;
    for (;;) {
      BlkifRequest request{};
      while (ring_.take_request(&request)) {
        accept(request);
        if (batch_size_ == pacing_.batch()) {
          // Answer this part now, so that the frontend refills the ring
          // while the next part is read or written.
          run_batch();
          if (ring_.push_responses()) answer_mid_ring();
        }
        if (++served >= kRequestsPerTurn) break;
      }
      run_batch();
      if (ring_.overflowed()) {
        (void)ring_.push_responses();
        close("the frontend published more requests than the ring holds");
        return;
      }
      if (served >= kRequestsPerTurn) {
        more = true;
        break;
      }
      if (!ring_.final_check_for_requests() && !more_soon()) break;
    }
    // One notification for everything answered in this turn.
    if (ring_.push_responses()) {
      (void)xc::Connection::notify_doorbell(channel_->peer.get());
      pacing_.answered();
    }
    // Others get their turn; our own doorbell brings us back.
    if (more) (void)xc::Connection::notify_doorbell(channel_->own.get());
  }

  // Notifies the frontend in the middle of a serve, and tells the pacing
  // whether that cost this thread its CPU (its involuntary context switches
  // went up: the frontend, woken on this CPU, preempted it).
  void answer_mid_ring() {
    if (pacing_.whole_ring()) {
      (void)xc::Connection::notify_doorbell(channel_->peer.get());
      pacing_.answered();
      return;
    }
    const long before = involuntary_switches();
    (void)xc::Connection::notify_doorbell(channel_->peer.get());
    const long after = involuntary_switches();
    pacing_.answered_mid_ring(before >= 0 && after > before);
  }

  static long involuntary_switches() {
    rusage usage{};
    if (::getrusage(RUSAGE_THREAD, &usage) != 0) return -1;
    return usage.ru_nivcsw;
  }

  // With Domain-0 on CPUs of its own (DeviceLoop::own_cpus), answers what
  // it has and watches the ring for about 25 us before the device thread
  // sleeps: a frontend on another CPU that answers back at once (the next
  // read of a guest reading one block at a time, a refill of the ring)
  // is served without two wake-ups. True if a request came.
  bool more_soon() {
    if (!loop_.own_cpus()) return false;
    if (ring_.push_responses()) (void)xc::Connection::notify_doorbell(channel_->peer.get());
    for (std::uint32_t i = 0; i < kSpinPauses; ++i) {
      if (ring_.has_requests()) return true;
      __builtin_ia32_pause();
    }
    return false;
  }

  void respond(std::uint64_t id, std::uint8_t operation, std::int16_t status) {
    BlkifResponse response{};
    response.id = id;
    response.operation = operation;
    response.status = status;
    ring_.put_response(response);
  }

  // Checks one request copied out of the ring: a bad one is answered now, a
  // flush runs after the reads and writes before it, a read or write joins
  // the batch.
  void accept(const BlkifRequest& raw) {
    ++stats_.requests;
    auto request = decode_blkif_request(raw, geometry_);
    if (!request) {
      refuse(std::string(describe(request.error())));
      respond(raw.id, raw.operation, response_status(request.error()));
      return;
    }
    if (request->op == BlkifOp::flush_diskcache) {
      run_batch();
      std::int16_t status = abi::io::kBlkifRspOkay;
      if (::fdatasync(file_.get()) != 0) {
        status = abi::io::kBlkifRspError;
        refuse(std::string("flush failed: ") + std::strerror(errno));
      }
      respond(raw.id, raw.operation, status);
      return;
    }
    Pending p;
    p.id = raw.id;
    p.operation = raw.operation;
    p.offset = static_cast<off_t>(request->sector * abi::io::kSectorSize);
    p.bytes = request->sectors * abi::io::kSectorSize;
    p.nr_iov = request->nr_segments;
    const bool to_guest = request->op == BlkifOp::read;
    for (std::uint32_t i = 0; i < request->nr_segments; ++i) {
      const BlkSegment& seg = request->segments[i];
      // (May run the batch first to make room in the grant cache.)
      std::uint8_t* page = mapped(seg.gref, to_guest, *request);
      if (page == nullptr) {
        respond(raw.id, raw.operation, abi::io::kBlkifRspError);
        return;
      }
      p.iov[i].iov_base = page + seg.offset;
      p.iov[i].iov_len = seg.length;
    }
    batch_[batch_size_++] = p;
  }

  // Does the batch: each run of requests of one kind that are contiguous on
  // the disk is one preadv/pwritev, straight between the file and the
  // mapped pages.
  void run_batch() {
    std::size_t i = 0;
    while (i < batch_size_) {
      std::size_t j = i + 1;
      off_t next = batch_[i].offset + static_cast<off_t>(batch_[i].bytes);
      while (j < batch_size_ && batch_[j].operation == batch_[i].operation &&
             batch_[j].offset == next) {
        next += static_cast<off_t>(batch_[j].bytes);
        ++j;
      }
      std::size_t count = 0;
      std::size_t bytes = 0;
      for (std::size_t k = i; k < j; ++k) {
        for (std::uint32_t s = 0; s < batch_[k].nr_iov; ++s)
          run_iov_[count++] = batch_[k].iov[s];
        bytes += batch_[k].bytes;
      }
      const bool to_guest = batch_[i].operation == static_cast<std::uint8_t>(BlkifOp::read);
      const std::string problem =
          transfer(run_iov_.data(), static_cast<int>(count), batch_[i].offset, bytes, to_guest);
      for (std::size_t k = i; k < j; ++k) {
        if (!problem.empty()) refuse(problem);
        respond(batch_[k].id, batch_[k].operation,
                problem.empty() ? abi::io::kBlkifRspOkay : abi::io::kBlkifRspError);
      }
      i = j;
    }
    batch_size_ = 0;
  }

  // preadv/pwritev until `total` bytes moved; "" or what went wrong.
  std::string transfer(iovec* iov, int count, off_t offset, std::size_t total, bool to_guest) {
    std::size_t done = 0;
    while (done < total) {
      const ssize_t n = to_guest ? ::preadv(file_.get(), iov, count, offset)
                                 : ::pwritev(file_.get(), iov, count, offset);
      if (n < 0) {
        if (errno == EINTR) continue;
        return std::string(to_guest ? "read" : "write") + " failed: " + std::strerror(errno);
      }
      if (n == 0) return "the image ended early (truncated while attached?)";
      done += static_cast<std::size_t>(n);
      offset += n;
      // Skip what was moved.
      auto left = static_cast<std::size_t>(n);
      while (count > 0 && left >= iov->iov_len) {
        left -= iov->iov_len;
        ++iov;
        --count;
      }
      if (count > 0) {
        iov->iov_base = static_cast<std::uint8_t*>(iov->iov_base) + left;
        iov->iov_len -= left;
      }
    }
    return {};
  }

  // The persistent mapping of `gref` (mapped now if new); nullptr if the
  // frontend did not grant it (or only read-only where data must go in).
  std::uint8_t* mapped(abi::grant_ref_t gref, bool must_write, const BlkRequest& request) {
    auto it = grants_.find(gref);
    if (it == grants_.end()) {
      if (grants_.size() >= kMaxCachedGrants) {
        // The batch holds pointers into cached pages: do it before any goes.
        run_batch();
        evict_one(request);
      }
      bool writable = true;
      auto page = MappedPage::map(loop_.hv(), front_, gref, false);
      if (!page && page.error().code == -abi::kGntstPermissionDenied) {
        writable = false;
        page = MappedPage::map(loop_.hv(), front_, gref, true);
      }
      if (!page) {
        refuse("grant " + std::to_string(gref) + " cannot be mapped: " + page.error().to_string());
        return nullptr;
      }
      it = grants_.emplace(gref, CachedGrant{std::move(*page), writable}).first;
    }
    if (must_write && !it->second.writable) {
      refuse("grant " + std::to_string(gref) + " is read-only but a read must fill it");
      return nullptr;
    }
    return static_cast<std::uint8_t*>(it->second.page.data());
  }

  // Frees one cached mapping that `request` does not use.
  void evict_one(const BlkRequest& request) {
    for (auto it = grants_.begin(); it != grants_.end(); ++it) {
      bool used = false;
      for (std::uint32_t i = 0; i < request.nr_segments; ++i)
        used = used || request.segments[i].gref == it->first;
      if (!used) {
        grants_.erase(it);
        return;
      }
    }
  }

  void refuse(const std::string& why) {
    ++stats_.errors;
    if (logged_errors_ < kMaxLoggedErrors) {
      ++logged_errors_;
      loop_.log().warning("blkback " + dir_ + ": request refused: " + why +
                          (logged_errors_ == kMaxLoggedErrors ? " (further refusals only counted)" : ""));
    }
  }

  struct CachedGrant {
    MappedPage page;
    bool writable = false;
  };

  DeviceLoop& loop_;
  abi::domid_t front_;
  std::uint32_t devid_;
  std::string dir_;
  std::string frontend_dir_;
  std::string resource_;
  bool readonly_ = true;
  Phase phase_ = Phase::new_device;
  WatchId frontend_watch_ = 0;
  hv::UniqueFd file_;
  BlkDiskGeometry geometry_;
  MappedPage ring_page_;
  BlkifBackRing ring_;
  std::optional<xc::Connection::EventChannelBinding> channel_;
  std::unordered_map<abi::grant_ref_t, CachedGrant> grants_;
  BackendStats stats_;
  std::uint32_t logged_errors_ = 0;
  AnswerPacing pacing_{BlkifSharedRing::kSlots};
  std::array<Pending, BlkifSharedRing::kSlots> batch_{};
  std::size_t batch_size_ = 0;
  std::array<iovec, std::size_t{BlkifSharedRing::kSlots} * abi::io::kBlkifMaxSegments> run_iov_{};
};

class Blkback final : public BackendDriver {
 public:
  explicit Blkback(DeviceLoop& loop) : loop_(loop) {
    watch_ = loop_.store().watch(kVbdRoot, [this](const std::string&) { scan(); });
  }
  ~Blkback() override {
    loop_.store().unwatch(watch_);
    devices_.clear();
  }

  [[nodiscard]] std::string_view device_class() const override { return "vbd"; }

  [[nodiscard]] std::optional<BackendStats> stats(abi::domid_t frontend,
                                                  std::uint32_t devid) const override {
    const auto it = devices_.find({frontend, devid});
    if (it == devices_.end()) return std::nullopt;
    return it->second->stats();
  }

  void release_frontend(abi::domid_t domid) override {
    for (auto it = devices_.begin(); it != devices_.end();) {
      it = it->first.first == domid ? devices_.erase(it) : std::next(it);
    }
  }

 private:
  using Key = std::pair<abi::domid_t, std::uint32_t>;

  // Creates devices for new complete directories, drops those removed.
  void scan() {
    std::map<Key, bool> present;
    StoreClient& store = loop_.store();
    const std::string root(kVbdRoot);
    if (auto fronts = store.directory(root)) {
      for (const auto& front_text : *fronts) {
        const auto front = parse_number<abi::domid_t>(front_text);
        if (!front) continue;
        auto devids = store.directory(root + "/" + front_text);
        if (!devids) continue;
        for (const auto& devid_text : *devids) {
          const auto devid = parse_number<std::uint32_t>(devid_text);
          if (!devid) continue;
          present[{*front, *devid}] = true;
          if (devices_.contains({*front, *devid})) continue;
          // The toolstack writes `state` last: until then the directory is
          // still being written.
          const std::string dir = root + "/" + front_text + "/" + devid_text;
          auto state = store.read(dir + "/state");
          if (!state || *state != state_text(XenbusState::initialising)) continue;
          auto device = std::make_unique<BlkDevice>(loop_, *front, *devid);
          BlkDevice& started = *device;
          devices_.emplace(Key{*front, *devid}, std::move(device));
          started.start();
        }
      }
    }
    for (auto it = devices_.begin(); it != devices_.end();) {
      it = present.contains(it->first) ? std::next(it) : devices_.erase(it);
    }
  }

  DeviceLoop& loop_;
  WatchId watch_ = 0;
  std::map<Key, std::unique_ptr<BlkDevice>> devices_;
};

}  // namespace

std::unique_ptr<BackendDriver> make_blkback(DeviceLoop& loop) {
  return std::make_unique<Blkback>(loop);
}

}  // namespace shype::devices
