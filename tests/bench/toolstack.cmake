# xend and xm against the hypervisor's own domain create, xm list --label
# with many domains, setpolicy and a run-time update (header of
# toolstack_bench.cpp for the command).
if(TARGET xend AND TARGET xm AND TARGET shype-hv AND TARGET guest_hello)
  shype_xm_bench(toolstack_bench toolstack_bench.cpp GUESTS guest_hello)
endif()
