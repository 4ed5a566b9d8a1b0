/** Engine ↔ contract parity of the capped market, part 3 of 4 (see cappedCases.ts, cappedRun.ts). */
import { defineCappedParity } from "./cappedSuite.ts";

defineCappedParity(3);
