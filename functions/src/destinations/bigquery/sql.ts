/** A named query parameter in the REST shape. */
export interface QueryParameter {
  name: string;
  parameterType: { type: 'STRING' | 'INT64' };
  parameterValue: { value: string };
}

export const stringParam = (name: string, value: string): QueryParameter => ({
  name,
  parameterType: { type: 'STRING' },
  parameterValue: { value },
});

export const intParam = (name: string, value: number | bigint): QueryParameter => ({
  name,
  parameterType: { type: 'INT64' },
  parameterValue: { value: String(value) },
});

/** A GoogleSQL quoted identifier or path (backticks; a backtick inside a name is dropped). */
export const q = (name: string): string => `\`${name.replaceAll('`', '')}\``;
