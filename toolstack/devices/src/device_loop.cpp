// The device thread (device_loop_impl.hpp) and MappedPage.
#include "device_loop_impl.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <future>

namespace shype::devices {
namespace {
constexpr std::uint64_t kWakeToken = 0;
constexpr std::uint64_t kConnectionToken = 1;
constexpr int kMaxEvents = 32;
}  // namespace

DeviceLoopImpl::DeviceLoopImpl(std::filesystem::path root, hv::Log& log)
    : root_(std::move(root)), log_(log) {}

acm::Result<std::unique_ptr<DeviceLoopImpl>> DeviceLoopImpl::start(
    const std::filesystem::path& root, hv::Log& log) {
  std::unique_ptr<DeviceLoopImpl> loop(new DeviceLoopImpl(root, log));
  loop->epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  loop->wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!loop->epoll_ || !loop->wake_) {
    return acm::make_error(acm::Errc::io_error,
                           std::string("device thread: cannot create epoll/eventfd: ") +
                               std::strerror(errno));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeToken;
  ::epoll_ctl(loop->epoll_.get(), EPOLL_CTL_ADD, loop->wake_.get(), &ev);
  DeviceLoopImpl* self = loop.get();
  loop->client_ = make_store_client(loop->store_, [self](std::function<void()> fn) {
    self->defer(std::move(fn), std::chrono::milliseconds{0});
  });
  std::promise<acm::Status> started;
  auto ready = started.get_future();
  // Signals belong to the daemon's main thread (xend waits for them on a
  // signalfd): the device thread starts, and stays, with all of them blocked,
  // so a SIGTERM can never hit it and kill the process.
  sigset_t all;
  sigset_t previous;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &previous);
  loop->thread_ = std::thread([self, &started] { self->main(&started); });
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  acm::Status status = ready.get();
  if (!status) {
    loop->thread_.join();
    return tl::unexpected(status.error());
  }
  return loop;
}

DeviceLoopImpl::~DeviceLoopImpl() { stop({}); }

void DeviceLoopImpl::stop(std::function<void()> last) {
  if (!thread_.joinable()) return;
  if (last) (void)run(std::move(last), std::chrono::seconds(10));
  stopping_ = true;
  const std::uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
  thread_.join();
}

bool DeviceLoopImpl::run(std::function<void()> fn, std::chrono::milliseconds timeout) {
  if (on_thread()) {
    fn();
    return true;
  }
  if (stopping_ || !thread_.joinable()) return false;
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  {
    std::lock_guard lock(mutex_);
    commands_.push_back([fn = std::move(fn), done] {
      fn();
      done->set_value();
    });
  }
  const std::uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
  return finished.wait_for(timeout) == std::future_status::ready;
}

void DeviceLoopImpl::add_fd(int fd, std::function<void()> on_ready) {
  remove_fd(fd);
  const std::uint64_t token = next_token_++;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = token;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    log_.error("device thread: cannot watch descriptor " + std::to_string(fd) + ": " +
               std::strerror(errno));
    return;
  }
  fds_[token] = Watched{fd, std::make_shared<std::function<void()>>(std::move(on_ready))};
  tokens_[fd] = token;
}

void DeviceLoopImpl::remove_fd(int fd) {
  const auto it = tokens_.find(fd);
  if (it == tokens_.end()) return;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  fds_.erase(it->second);
  tokens_.erase(it);
}

void DeviceLoopImpl::defer(std::function<void()> fn, std::chrono::milliseconds delay) {
  if (on_thread()) {
    timers_.emplace(std::chrono::steady_clock::now() + delay, std::move(fn));
    return;
  }
  // From another thread: through the command queue.
  {
    std::lock_guard lock(mutex_);
    commands_.push_back([this, fn = std::move(fn), delay]() mutable {
      timers_.emplace(std::chrono::steady_clock::now() + delay, std::move(fn));
    });
  }
  const std::uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
}

void DeviceLoopImpl::on_port_notice(abi::evtchn_port_t port, NoticeFn fn) {
  port_handlers_[port] = std::move(fn);
}

void DeviceLoopImpl::forget_port(abi::evtchn_port_t port) { port_handlers_.erase(port); }

void DeviceLoopImpl::main(std::promise<acm::Status>* started) {
  auto connection = xc::Connection::open(root_, std::chrono::seconds(10));
  if (!connection) {
    started->set_value(acm::make_error(
        acm::Errc::io_error,
        "device thread: cannot reach the hypervisor: " + connection.error().to_string()));
    return;
  }
  hv_ = std::move(*connection);
  if (auto dom0 = hv_->vcpu_affinity(0); dom0 && !dom0->any()) own_cpus_ = true;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kConnectionToken;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, hv_->fd(), &ev);
  started->set_value({});

  epoll_event events[kMaxEvents];
  while (!stopping_) {
    const int n = ::epoll_wait(epoll_.get(), events, kMaxEvents, next_timeout_ms());
    if (n < 0 && errno != EINTR) {
      log_.error(std::string("device thread: epoll_wait: ") + std::strerror(errno));
      break;
    }
    for (int i = 0; i < n && !stopping_; ++i) {
      const std::uint64_t token = events[i].data.u64;
      if (token == kWakeToken) {
        std::uint64_t counter = 0;
        (void)!::read(wake_.get(), &counter, sizeof counter);
        drain_commands();
      } else if (token == kConnectionToken) {
        drain_notifications();
      } else if (const auto it = fds_.find(token); it != fds_.end()) {
        auto fn = it->second.fn;  // survives a remove_fd inside the call
        (*fn)();
      }
    }
    drain_notifications();  // those queued while calls waited for responses
    run_timers();
  }
  drain_commands();  // let waiting callers return
  timers_.clear();
  port_handlers_.clear();
  fds_.clear();
  tokens_.clear();
  client_.reset();
  hv_.reset();
}

void DeviceLoopImpl::drain_commands() {
  std::deque<std::function<void()>> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(commands_);
  }
  for (auto& fn : batch)
    fn();
}

void DeviceLoopImpl::drain_notifications() {
  if (!hv_ || hv_broken_) return;
  for (int budget = 256; budget > 0; --budget) {
    auto next = hv_->next_notification(std::chrono::milliseconds{0});
    if (!next) {
      log_.error("device thread: the hypervisor connection broke: " + next.error().to_string());
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, hv_->fd(), nullptr);
      hv_broken_ = true;
      return;
    }
    if (!*next) return;
    auto notice = xc::Connection::event_channel_notice(**next);
    if (!notice) continue;
    const auto it = port_handlers_.find(notice->local_port);
    if (it == port_handlers_.end()) continue;
    NoticeFn fn = it->second;
    fn(*notice);
  }
}

int DeviceLoopImpl::next_timeout_ms() const {
  if (timers_.empty()) return 1000;
  const auto now = std::chrono::steady_clock::now();
  const auto first = timers_.begin()->first;
  if (first <= now) return 0;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(first - now).count() + 1;
  return static_cast<int>(std::min<long long>(ms, 1000));
}

void DeviceLoopImpl::run_timers() {
  const auto now = std::chrono::steady_clock::now();
  // Only those due now: a timer that re-arms itself for "now" waits a turn.
  std::vector<std::function<void()>> due;
  while (!timers_.empty() && timers_.begin()->first <= now) {
    due.push_back(std::move(timers_.begin()->second));
    timers_.erase(timers_.begin());
  }
  for (auto& fn : due)
    fn();
}

// --- MappedPage --------------------------------------------------------------

xc::Result<MappedPage> MappedPage::map(xc::Connection& hv, abi::domid_t granter,
                                       abi::grant_ref_t ref, bool readonly) {
  auto grant = hv.map_grant(granter, ref, readonly);
  if (!grant) return tl::unexpected(grant.error());
  const int prot = readonly ? PROT_READ : PROT_READ | PROT_WRITE;
  void* data = ::mmap(nullptr, abi::kPageSize, prot, MAP_SHARED, grant->fd.get(), 0);
  if (data == MAP_FAILED) {
    const int error = errno;
    (void)hv.unmap_grant(*grant);
    xc::Error e;
    e.code = error;
    e.op = "mmap";
    e.message = "cannot map the grant's page";
    return tl::unexpected(std::move(e));
  }
  MappedPage page;
  page.hv_ = &hv;
  page.grant_ = std::move(*grant);
  page.data_ = data;
  return page;
}

MappedPage::MappedPage(MappedPage&& other) noexcept
    : hv_(std::exchange(other.hv_, nullptr)),
      grant_(std::move(other.grant_)),
      data_(std::exchange(other.data_, nullptr)) {}

MappedPage& MappedPage::operator=(MappedPage&& other) noexcept {
  if (this != &other) {
    reset();
    hv_ = std::exchange(other.hv_, nullptr);
    grant_ = std::move(other.grant_);
    data_ = std::exchange(other.data_, nullptr);
  }
  return *this;
}

MappedPage::~MappedPage() { reset(); }

void MappedPage::reset() {
  if (data_ != nullptr) ::munmap(data_, abi::kPageSize);
  data_ = nullptr;
  if (hv_ != nullptr) (void)hv_->unmap_grant(grant_);
  hv_ = nullptr;
}

}  // namespace shype::devices
