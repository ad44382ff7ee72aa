#include "gateway/resp_writer.h"

#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace beyondkv::gateway {
namespace {

constexpr std::string_view kCrlf = "\r\n";

void AppendBytes(std::string* out, std::string_view bytes) {
  out->append(bytes.data(), bytes.size());
}

}  // namespace

RespWriter::RespWriter(std::string* out, int protocol) : out_(out), protocol_(protocol) {
  DCHECK(out != nullptr);
}

void RespWriter::AppendLine(char type, std::string_view text) {
  out_->push_back(type);
  const size_t start = out_->size();
  AppendBytes(out_, text);
  for (size_t i = start; i < out_->size(); ++i) {
    if ((*out_)[i] == '\r' || (*out_)[i] == '\n') (*out_)[i] = ' ';
  }
  AppendBytes(out_, kCrlf);
}

void RespWriter::Simple(std::string_view text) { AppendLine('+', text); }

void RespWriter::Error(std::string_view text) { AppendLine('-', text); }

void RespWriter::Integer(int64_t value) { absl::StrAppend(out_, ":", value, "\r\n"); }

void RespWriter::Bulk(std::string_view value) {
  absl::StrAppend(out_, "$", value.size(), "\r\n");
  AppendBytes(out_, value);
  AppendBytes(out_, kCrlf);
}

void RespWriter::Null() { AppendBytes(out_, resp3() ? "_\r\n" : "$-1\r\n"); }

void RespWriter::NullArray() { AppendBytes(out_, resp3() ? "_\r\n" : "*-1\r\n"); }

void RespWriter::AggregateHeader(char type, int64_t count) {
  out_->push_back(type);
  absl::StrAppend(out_, count, "\r\n");
}

void RespWriter::ArrayHeader(int64_t count) { AggregateHeader('*', count); }

void RespWriter::MapHeader(int64_t pairs) {
  // addReplyMapLen: RESP2 has no map, so a flat array of keys and values.
  if (resp3()) {
    AggregateHeader('%', pairs);
  } else {
    AggregateHeader('*', pairs * 2);
  }
}

void RespWriter::SetHeader(int64_t count) { AggregateHeader(resp3() ? '~' : '*', count); }

void RespWriter::PushHeader(int64_t count) { AggregateHeader(resp3() ? '>' : '*', count); }

void RespWriter::Double(double value) {
  // addReplyDouble prints infinities itself because libcs disagree on their spelling; NaN
  // is spelt "nan" as the RESP3 spec says (glibc's %.17g could give "-nan").
  char buf[32];
  std::string_view text;
  if (std::isinf(value)) {
    text = value > 0 ? "inf" : "-inf";
  } else if (std::isnan(value)) {
    text = "nan";
  } else {
    const int n = std::snprintf(buf, sizeof(buf), "%.17g", value);
    text = std::string_view(buf, static_cast<size_t>(n));
  }
  if (resp3()) {
    AppendLine(',', text);
  } else {
    Bulk(text);
  }
}

void RespWriter::Boolean(bool value) {
  if (resp3()) {
    AppendBytes(out_, value ? "#t\r\n" : "#f\r\n");
  } else {
    Integer(value ? 1 : 0);
  }
}

void RespWriter::Verbatim(std::string_view format, std::string_view text) {
  if (!resp3()) {
    Bulk(text);  // addReplyVerbatim: RESP2 clients get the text alone
    return;
  }
  DCHECK_EQ(format.size(), 3u) << "verbatim format must be 3 bytes, e.g. \"txt\"";
  absl::StrAppend(out_, "=", format.size() + 1 + text.size(), "\r\n");
  AppendBytes(out_, format);
  out_->push_back(':');
  AppendBytes(out_, text);
  AppendBytes(out_, kCrlf);
}

}  // namespace beyondkv::gateway
