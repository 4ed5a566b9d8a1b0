/** Engine ↔ contract parity, part 2 of 2 (see parityHarness.ts). */
import { defineParityTest } from "./parityHarness.ts";

defineParityTest(2);
