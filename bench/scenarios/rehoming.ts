import type { Figure } from '../report.js'
import type { ScenarioContext } from '../scenario.js'
export async function rehoming (_ctx: ScenarioContext): Promise<Figure[]> { return [] }
