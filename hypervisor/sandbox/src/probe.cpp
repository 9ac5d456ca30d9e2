#include <cerrno>

#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/cgroup.hpp"
#include "sandbox/sandbox.hpp"
#include "sys_util.hpp"

namespace shype::sandbox {
namespace {

// Whether this process may create the namespaces launch() uses: a child is
// cloned into them and exits at once.
bool can_create_namespaces(std::string& why) {
  const unsigned long flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS |
                              CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
  const long pid = ::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid == 0) ::_exit(0);
  if (pid < 0) {
    why = "user namespaces: no (clone: " + errno_text(errno) + ")";
    return false;
  }
  int status = 0;
  while (::waitpid(static_cast<pid_t>(pid), &status, 0) < 0 && errno == EINTR) {
  }
  why = "user namespaces: yes";
  return true;
}

}  // namespace

HostSupport probe_host() {
  HostSupport support;
  support.user_namespaces = can_create_namespaces(support.detail);
  const CgroupLayout layout = host_cgroup_layout();
  const bool usable = is_usable(layout);
  support.cgroup_v2 = usable && layout.version == CgroupVersion::v2;
  support.cgroup_v1 = usable && layout.version == CgroupVersion::v1;
  support.detail += "; " + layout.detail;
  if (layout.version != CgroupVersion::none && !support.cgroup_v1 && !support.cgroup_v2) {
    support.detail += " (not writable by this process)";
  }
  return support;
}

}  // namespace shype::sandbox
