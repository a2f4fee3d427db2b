/*
 * simdpath - print the scanner's vector path ("scalar", "sse2", "avx2", "avx512")
 * that evkit's tools choose on this CPU, under the EVKIT_SIMD in the
 * environment (see evkit(7)).  Built by bench/run against libevkit.a.
 */
#include <stdio.h>

#include "json/json_int.h"

int
main(void)
{
	printf("%s\n", ev_simd_name(ev_simd_path()));
	return 0;
}
