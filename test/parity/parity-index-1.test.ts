/** Engine ↔ contract parity of the index mark price, part 1 of 2 (see indexCases.ts). */
import { defineCaseParity } from "./defineCases.ts";
import { INDEX_SUITE } from "./indexSuite.ts";

defineCaseParity(INDEX_SUITE, 1);
