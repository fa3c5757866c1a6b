# bootseal-setup-root: a small statically linked executable for the initramfs. It is
# built from the sources it needs (base, sys, bls/karg, erofs/reader, fstree, initramfs) with fmt in
# header-only mode (Debian ships no static libfmt), and links no oci/store/keys/signing.
# Included by src/initramfs/CMakeLists.txt, and by the top level alone with
# BOOTSEAL_SETUP_ROOT_ONLY (the arm64 cross build of tools/build).
set(_s ${CMAKE_SOURCE_DIR}/src)
add_executable(bootseal-setup-root
  ${_s}/initramfs/main/setup_root_main.cc
  ${_s}/initramfs/setup_root.cc ${_s}/initramfs/gpt.cc ${_s}/initramfs/real_ops.cc ${_s}/initramfs/trace_ops.cc
  ${_s}/bls/karg.cc
  ${_s}/erofs/reader.cc ${_s}/fstree/tree.cc
  ${_s}/base/error.cc ${_s}/base/hex.cc
  ${_s}/sys/file.cc ${_s}/sys/fsops.cc ${_s}/sys/verity.cc ${_s}/sys/mounts.cc ${_s}/sys/pseudo_file.cc)
target_include_directories(bootseal-setup-root PRIVATE ${_s})
if(BOOTSEAL_SANITIZE OR BOOTSEAL_FUZZ)
  # The sanitizer runtimes cannot be linked statically; such builds are for
  # testing the host-side code, and the initramfs binary comes from a normal build.
  target_link_libraries(bootseal-setup-root PRIVATE fmt::fmt-header-only Threads::Threads)
else()
  target_link_libraries(bootseal-setup-root PRIVATE fmt::fmt-header-only Threads::Threads -static)
  target_link_options(bootseal-setup-root PRIVATE -s)
endif()
