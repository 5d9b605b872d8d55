/** Days in each month of a leap year (February is checked apart). */
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The n-digit decimal at `at` in `s`, or -1 when any of those characters is not a digit. */
export function digitsAt(s: string, at: number, n: number): number {
  if (n === 2) {
    // The common case (month, day, hours, ...) without a loop: it runs several times per timestamp.
    const hi = s.charCodeAt(at) - 48;
    const lo = s.charCodeAt(at + 1) - 48;
    return hi >= 0 && hi <= 9 && lo >= 0 && lo <= 9 ? hi * 10 + lo : -1;
  }
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** Whether year-month-day (year >= 0) is a real calendar date: February 29 only in leap years. */
export function isCalendarDate(year: number, month: number, day: number): boolean {
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > (DAYS_IN_MONTH[month - 1] as number))
    return false;
  return !(month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)));
}

/** Whether hour:minute:second is a time of day (no leap second 60). */
export function isTimeOfDay(hour: number, minute: number, second: number): boolean {
  return hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 && second <= 59;
}
