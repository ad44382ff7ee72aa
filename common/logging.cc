#include "common/logging.h"

#include <glog/logging.h>

#include <cstdio>
#include <iomanip>
#include <ostream>

namespace beyondkv {
namespace {

std::string* g_tag = nullptr;

void Prefix(std::ostream& s, const google::LogMessageInfo& l, void* /*data*/) {
  const google::LogMessageTime& t = l.time;
  s << l.severity[0] << std::setw(2) << std::setfill('0') << 1 + t.month() << std::setw(2)
    << t.day() << ' ' << std::setw(2) << t.hour() << ':' << std::setw(2) << t.min() << ':'
    << std::setw(2) << t.sec() << '.' << std::setw(6) << t.usec() << ' ' << *g_tag << ' '
    << l.filename << ':' << l.line_number << ']';
}

}  // namespace

void InitLogging(const char* argv0, const std::string& tag) {
  if (g_tag != nullptr) return;
  g_tag = new std::string(tag);
  FLAGS_logtostderr = true;
  FLAGS_colorlogtostderr = false;
  google::InitGoogleLogging(argv0, &Prefix, nullptr);
}

}  // namespace beyondkv
