// libFuzzer target: the hint-file decoder (engine/hint_file.h DecodeHintFile).
//
// Each input is decoded twice: as is (only the magic/checksum checks are reachable), and as
// the body of a hint file whose magic is forced and whose checksum is recomputed, so the
// entry checks are reached. Checks, when a decode succeeds:
//   - the records satisfy the documented guarantees: entry_count of them, offsets at or
//     after the segment header, increasing, non-overlapping and inside segment_size, sizes
//     and value offsets derived from the lengths;
//   - rebuilding the file with HintBuilder from the header and records, leaving nothing out,
//     gives the same bytes (the format has one encoding);
//   - rebuilding it leaving superseded records out (the default builder) keeps records of the
//     input, in order, and every one that decides its key (DecidingRecords).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "engine/coding.h"
#include "engine/crc32c.h"
#include "engine/hint_file.h"
#include "engine/record_codec.h"
#include "engine/record_format.h"

namespace {

using namespace beyondkv::engine;

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "hint_file_fuzzer: invariant failed: %s\n", what);
    abort();
  }
}

void DecodeAndCheck(std::string_view bytes) {
  HintHeader header;
  absl::StatusOr<std::vector<ScannedRecord>> records = DecodeHintFile(bytes, &header);
  if (!records.ok()) {
    Check(absl::IsDataLoss(records.status()), "a bad hint file is DataLoss");
    return;
  }
  Check(records->size() == header.entry_count, "entry_count records");
  uint64_t next = kSegmentHeaderSize;
  HintBuilder builder(/*max_tracked_keys=*/0);
  HintBuilder deduplicating;
  for (const ScannedRecord& r : *records) {
    const uint64_t size = EncodedRecordSize(r.key.size(), r.meta_len, r.value_len);
    Check(r.offset >= next, "records in file order, not overlapping");
    Check(r.offset + size <= header.segment_size, "records inside the segment");
    Check(r.size == size, "size derived from the lengths");
    Check(r.value_offset == r.offset + kRecordHeaderSize + r.key.size() + r.meta_len,
          "value offset derived from the lengths");
    Check(r.key.size() <= kMaxKeyBytes && r.meta_len <= kMaxMetaBytes &&
              r.value_len <= kMaxValueBytesLimit,
          "lengths within the caps");
    next = r.offset + size;
    builder.Add(r);
    deduplicating.Add(r);
  }
  Check(builder.Finish(header) == bytes, "HintBuilder re-encodes the same bytes");
  // The deduplicating builder, record by record and in runs with keys' hashes colliding
  // often (by their length), keeps every deciding record and only records of the input.
  HintBuilder colliding(HintBuilder::kDefaultMaxTrackedKeys,
                        [](std::string_view key) -> uint64_t { return key.size() % 3; });
  colliding.AddBatch(records->data(), records->size());
  const std::vector<bool> deciding = DecidingRecords(*records);
  for (HintBuilder* b : {&deduplicating, &colliding}) {
    HintHeader kept_header;
    absl::StatusOr<std::vector<ScannedRecord>> kept = DecodeHintFile(b->Finish(header), &kept_header);
    Check(kept.ok(), "a hint without superseded records decodes");
    Check(kept_header.entry_count == kept->size(), "its entry_count is what it keeps");
    size_t k = 0;
    for (size_t i = 0; i < records->size(); ++i) {
      if (k < kept->size() && (*kept)[k].offset == (*records)[i].offset) {
        Check((*kept)[k].key == (*records)[i].key && (*kept)[k].type == (*records)[i].type,
              "kept entries are the input's records");
        ++k;
      } else {
        Check(!deciding[i], "no deciding record is left out");
      }
    }
    Check(k == kept->size(), "kept entries are records of the input, in order");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view raw(reinterpret_cast<const char*>(data), size);
  DecodeAndCheck(raw);

  // The same bytes as a hint body: magic forced, checksum appended.
  std::string fixed(raw);
  if (fixed.size() < 8) fixed.resize(8, '\0');
  EncodeFixed64(fixed.data(), kHintMagic);
  char crc[kHintTrailerSize];
  EncodeFixed32(crc, crc32c::Value(fixed.data(), fixed.size()));
  fixed.append(crc, sizeof(crc));
  DecodeAndCheck(fixed);
  return 0;
}
