/** The workflow types a blockscope orchestrator worker serves. */
export { studyWorkflow } from './study.js';
export { campaignWorkflow } from './campaign.js';
export { searchWorkflow } from './search.js';
