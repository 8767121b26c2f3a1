import { ApiError, api, stepUp } from '../lib/api.js'

/**
 * Plugs the step-up prompt into the workspaces' fetch helper (lib/api.ts):
 * an act answered 401 STEP_UP_REQUIRED asks the person's code
 * (`ask`, StepUpPrompt's askCode), posts it to /v1/session/step-up (asked
 * again after a wrong code), then the helper sends the act once more.
 * Cancelling ends the act with STEP_UP_REQUIRED, which the page shows.
 */
export function useStepUp(ask: (again: boolean) => Promise<string | null>): void {
  stepUp.prompt = async () => {
    for (let again = false; ; again = true) {
      const code = await ask(again)
      if (code === null || code === '') throw new ApiError(401, 'STEP_UP_REQUIRED', 'cancelled')
      try {
        await api('/v1/session/step-up', { method: 'POST', body: { secondFactor: code } })
        return
      } catch (err) {
        if (!(err instanceof ApiError) || err.code !== 'SECOND_FACTOR_INVALID') throw err
      }
    }
  }
}
