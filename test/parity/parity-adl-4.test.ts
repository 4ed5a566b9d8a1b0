/** Engine ↔ contract parity of auto-deleveraging, part 4 of 4 (see adlCases.ts, adlRun.ts). */
import { ADL_SUITE } from "./adlSuite.ts";
import { defineCaseParity } from "./defineCases.ts";

defineCaseParity(ADL_SUITE, 4);
