// kv-log: inspects a shard's data directory (tools/kv-log/kv_log.h). Read-only.
//   kv-log list   <shard-dir>
//   kv-log verify <shard-dir>                      exit 1 if anything is damaged
//   kv-log dump   <shard-dir> [--ns N] [--key K]
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "engine/env.h"
#include "tools/kv-log/kv_log.h"

int main(int argc, char** argv) {
  CLI::App app{"kv-log: inspect a beyond-kv shard directory (<data-dir>/shard-<i>); read-only"};
  app.require_subcommand(1);
  std::string dir;

  CLI::App* list = app.add_subcommand(
      "list", "segments per namespace: sequence, active or sealed, size, records, hint file");
  list->add_option("shard-dir", dir, "the shard's directory")->required();

  CLI::App* verify = app.add_subcommand(
      "verify", "check every checksum (manifest, segments, records, hint files); exit 1 on damage");
  verify->add_option("shard-dir", dir, "the shard's directory")->required();

  CLI::App* dump = app.add_subcommand(
      "dump", "print every record: type, revision, expiry, key, value length and preview");
  dump->add_option("shard-dir", dir, "the shard's directory")->required();
  beyondkv::kvlog::DumpOptions options;
  uint32_t ns = 0;
  std::string key;
  size_t preview = options.preview_bytes;
  CLI::Option* ns_option =
      dump->add_option("--ns", ns, "only this namespace (0-15)")->check(CLI::Range(0, 15));
  CLI::Option* key_option =
      dump->add_option("--key", key, "only records of this key (flush records too)");
  dump->add_option("--preview-bytes", preview, "bytes of each value to show")
      ->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  beyondkv::engine::Env* env = beyondkv::engine::Env::Default();
  if (list->parsed()) return beyondkv::kvlog::List(env, dir, std::cout);
  if (verify->parsed()) return beyondkv::kvlog::Verify(env, dir, std::cout);
  if (*ns_option) options.ns = ns;
  if (*key_option) options.key = key;
  options.preview_bytes = preview;
  return beyondkv::kvlog::Dump(env, dir, options, std::cout);
}
