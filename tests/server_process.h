// Test helper: runs `beyond-kv` as a real child process on loopback with its own temporary
// data directory, and talks to it with hiredis. Every process a test starts, it stops.
#ifndef BEYONDKV_TESTS_SERVER_PROCESS_H_
#define BEYONDKV_TESTS_SERVER_PROCESS_H_

#include <hiredis/hiredis.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace beyondkv::testing {

// A free TCP port on 127.0.0.1 (bound to port 0, then released).
int PickFreePort();

// A fresh directory under /tmp (short, so unix socket paths fit in 107 bytes); removed by
// the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Path of a binary of this workspace in the test's runfiles, e.g.
// "services/beyond-kv/beyond-kv".
std::string RunfilePath(const std::string& workspace_relative);

class ServerProcess {
 public:
  // `args` exclude argv[0]. The child's stderr goes to `log_path`.
  ServerProcess(std::string binary, std::vector<std::string> args, std::string log_path);
  ~ServerProcess();  // SIGKILLs the child if still running

  void Start();
  // Sends `signo` and waits up to `timeout_ms`; returns the exit status as from waitpid, or
  // -1 on timeout (the child is then SIGKILLed).
  int Stop(int signo, int timeout_ms = 30000);
  pid_t pid() const { return pid_; }
  std::string Log() const;  // what the child wrote to stderr so far

 private:
  std::string binary_;
  std::vector<std::string> args_;
  std::string log_path_;
  pid_t pid_ = -1;
};

using RedisConn = std::unique_ptr<redisContext, decltype(&redisFree)>;

// Connects to 127.0.0.1:port; retries until PING answers PONG or `timeout_ms` passes.
// Returns a null pointer on timeout.
RedisConn ConnectWhenReady(int port, int timeout_ms = 30000);

// Runs one command (argv form, binary-safe) and returns its reply rendered as text:
// "OK"/"PONG" for status, "(nil)", "(integer) N", "\"bulk\"", "(error) ERR ...", arrays as
// "[a, b]". "(io error)" if the connection failed.
std::string Command(redisContext* c, const std::vector<std::string>& argv);

// Pids of running processes whose command line contains every string of `needles`.
std::vector<pid_t> FindProcesses(const std::vector<std::string>& needles);

}  // namespace beyondkv::testing

#endif  // BEYONDKV_TESTS_SERVER_PROCESS_H_
