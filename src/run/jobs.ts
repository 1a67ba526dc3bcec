// The jobs of one run: each plan with the spec the store knows it by, looked up by job id (a work
// item carries only the id).
import type { JobPlan } from '../plan.js';
import type { JobSpec } from '../store/types.js';

/** A job of a run: its plan and what the store knows it by. */
export interface RunJob {
  plan: JobPlan;
  spec: JobSpec;
}

export function jobSpec(plan: JobPlan): JobSpec {
  return { job: plan.job, dataset: plan.dataset, interval: plan.interval, tickers: plan.symbols.map((s) => s.ticker), all: plan.all };
}

export class Jobs {
  readonly plans: readonly JobPlan[];
  readonly #byJob: Map<string, RunJob>;

  constructor(plans: readonly JobPlan[]) {
    this.plans = plans;
    this.#byJob = new Map(plans.map((plan) => [plan.job, { plan, spec: jobSpec(plan) }]));
  }

  /** The job of a work item; a RangeError for an id that is not one of the run's jobs. */
  get(job: string): RunJob {
    const found = this.#byJob.get(job);
    if (!found) throw new RangeError(`unknown job ${job}`);
    return found;
  }

  specs(): JobSpec[] {
    return [...this.#byJob.values()].map((j) => j.spec);
  }
}
