/** Engine ↔ contract parity, part 1 of 2 (see parityHarness.ts). */
import { defineParityTest } from "./parityHarness.ts";

defineParityTest(1);
