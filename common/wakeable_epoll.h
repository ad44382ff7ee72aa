// An epoll instance with an eventfd registered in it, so that other threads can wake the
// thread that waits on it: the shape of every event loop here (the gateway's I/O loops, the
// HTTP gateway's link thread, the shard's engine thread).
//
// Thread contract: Wake() may be called from any thread; everything else belongs to the loop's
// thread. Fatal (PCHECK) if the kernel refuses an epoll or an eventfd: no loop can run then.
#ifndef BEYONDKV_COMMON_WAKEABLE_EPOLL_H_
#define BEYONDKV_COMMON_WAKEABLE_EPOLL_H_

#include <glog/logging.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

namespace beyondkv {

class WakeableEpoll {
 public:
  // The eventfd's events carry data.u64 == `wake_tag`.
  explicit WakeableEpoll(uint64_t wake_tag) : wake_tag_(wake_tag) {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    PCHECK(epoll_fd_ >= 0) << "epoll_create1";
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    PCHECK(wake_fd_ >= 0) << "eventfd";
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = wake_tag_;
    PCHECK(epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) == 0) << "epoll_ctl eventfd";
  }
  ~WakeableEpoll() {
    close(wake_fd_);
    close(epoll_fd_);
  }
  WakeableEpoll(const WakeableEpoll&) = delete;
  WakeableEpoll& operator=(const WakeableEpoll&) = delete;

  int fd() const { return epoll_fd_; }
  uint64_t wake_tag() const { return wake_tag_; }

  // Makes the next (or current) epoll_wait return with the wake tag. Any thread.
  void Wake() {
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
  }
  // Resets the eventfd after its event was seen.
  void Drain() {
    uint64_t count;
    (void)!read(wake_fd_, &count, sizeof(count));
  }

 private:
  const uint64_t wake_tag_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
};

}  // namespace beyondkv

#endif  // BEYONDKV_COMMON_WAKEABLE_EPOLL_H_
